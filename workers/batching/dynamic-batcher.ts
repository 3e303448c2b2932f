import { decideBatch, type BatchSettings, type Queued, type SendReason } from './batch-policy.js';
import { FairQueue, type FairItem } from './fair-queue.js';

export interface BatcherSettings extends BatchSettings {
  /** Requests allowed to wait; enqueue() refuses more. */
  readonly maxQueueSize: number;
}

export interface BatchItem extends Queued, FairItem {
  /** Epoch ms; an item still queued then is handed to onExpired instead of a batch. */
  readonly deadline: number;
}

export interface BatcherHooks<T extends BatchItem> {
  /** Runs one batch on instance `slot`; the slot is busy until the promise settles. */
  execute(slot: number, items: T[], reason: SendReason): Promise<void>;
  onExpired(item: T): void;
}

export type EnqueueOutcome = 'queued' | 'queue-full' | 'closed';

/**
 * Per model version: holds waiting requests, and whenever an instance is free asks
 * decideBatch() what to send. Knows nothing about tensors or runtimes.
 */
export class DynamicBatcher<T extends BatchItem> {
  #settings: BatcherSettings;
  readonly #hooks: BatcherHooks<T>;
  readonly #clock: () => number;
  readonly #busy: boolean[];
  /** Served by priority, then tenants in turn (fair-queue.ts). */
  readonly #queue = new FairQueue<T>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #pumpScheduled = false;
  #closed = false;
  #inFlight = new Set<Promise<void>>();

  constructor(settings: BatcherSettings, slots: number, hooks: BatcherHooks<T>, clock: () => number = Date.now) {
    if (settings.maxBatchSize < 1) throw new Error('maxBatchSize must be at least 1');
    if (slots < 1) throw new Error('a batcher needs at least one instance slot');
    this.#settings = settings;
    this.#hooks = hooks;
    this.#clock = clock;
    this.#busy = new Array<boolean>(slots).fill(false);
  }

  get queued(): number {
    return this.#queue.size;
  }

  /** Most rows worth a batch, from the warm-up curve (batch-cap.ts); maxBatchSize until set. */
  get batchCap(): number {
    return Math.min(this.#settings.batchCap ?? this.#settings.maxBatchSize, this.#settings.maxBatchSize);
  }

  set batchCap(rows: number) {
    if (!Number.isInteger(rows) || rows < 1) throw new Error('a batch cap is a positive number of rows');
    this.#settings = { ...this.#settings, batchCap: rows };
  }

  get busySlots(): number {
    return this.#busy.filter(Boolean).length;
  }

  /** Nothing queued and every instance free. */
  get idle(): boolean {
    return this.#queue.size === 0 && !this.#busy.includes(true);
  }

  enqueue(item: T): EnqueueOutcome {
    if (this.#closed) return 'closed';
    if (this.#queue.size >= this.#settings.maxQueueSize) return 'queue-full';
    this.#queue.push(item);
    // Pump after the current I/O phase, so requests parsed in one tick batch together.
    if (!this.#pumpScheduled) {
      this.#pumpScheduled = true;
      setImmediate(() => {
        this.#pumpScheduled = false;
        this.#pump();
      });
    }
    return 'queued';
  }

  /** Takes a still-queued item out (its caller left); false once it is in a batch or gone. */
  remove(item: T): boolean {
    return this.#queue.removeWhere((queued) => queued === item).length > 0;
  }

  /** Stops accepting; queued items still run. Resolves when every batch has finished. */
  async drain(): Promise<void> {
    this.#closed = true;
    while (this.#queue.size > 0 || this.#inFlight.size > 0) {
      this.#pump();
      await Promise.race([...this.#inFlight, new Promise((resolve) => setTimeout(resolve, 5))]);
    }
    this.#clearTimer();
  }

  #pump(): void {
    this.#expire();
    for (;;) {
      const idle = this.#busy.indexOf(false);
      const decision = decideBatch(
        this.#queue.items,
        { idle: idle === -1 ? 0 : this.#busy.length - this.busySlots, busy: this.busySlots },
        this.#clock(),
        this.#settings,
      );
      if (decision.kind === 'idle') break;
      if (decision.kind === 'wait') {
        this.#wakeAt(decision.untilMs);
        return this.#wakeForDeadlines();
      }
      const items = this.#queue.take(decision.indexes);
      this.#run(idle, items, decision.reason);
    }
    this.#wakeForDeadlines();
  }

  #run(slot: number, items: T[], reason: SendReason): void {
    this.#busy[slot] = true;
    const done = this.#hooks
      .execute(slot, items, reason)
      .catch(() => undefined) // execute() answers its own items; a throw must not wedge the slot
      .finally(() => {
        this.#busy[slot] = false;
        this.#inFlight.delete(done);
        this.#pump();
      });
    this.#inFlight.add(done);
  }

  #expire(): void {
    const now = this.#clock();
    const expired = this.#queue.removeWhere((item) => item.deadline <= now);
    for (const item of expired) this.#hooks.onExpired(item);
  }

  #wakeForDeadlines(): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const item of this.#queue.items) earliest = Math.min(earliest, item.deadline);
    if (earliest !== Number.POSITIVE_INFINITY) this.#wakeAt(earliest);
  }

  #wakeAt(at: number): void {
    if (at >= this.#timerAt && this.#timer) return;
    this.#clearTimer();
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        this.#pump();
      },
      Math.max(0, at - this.#clock()),
    );
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }
}
