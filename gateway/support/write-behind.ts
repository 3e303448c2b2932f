import { randomUUID } from 'node:crypto';

/** A write that stored part of its batch: `rest` is what must be tried again. */
export class UnwrittenError<T> extends Error {
  constructor(
    readonly rest: T[],
    cause: unknown,
  ) {
    super(`${rest.length} records of a batch were not written`, { cause });
  }
}

interface Batch<T> {
  readonly id: string;
  items: T[];
}

/** Retries of a failed batch wait 1, 2, 3, 4, then 5 s between tries. */
const RETRY_STEP_MS = 1_000;
const RETRY_MAX_MS = 5_000;

/**
 * Collects records written on every request and writes them in one pipelined batch
 * every `intervalMs` (or at `maxItems`), so the audit log and the ledger cost Redis one
 * round trip per batch rather than per request. A batch whose write fails is kept, in order,
 * and tried again until it is written (Redis away for a moment loses nothing); `batch` is the
 * same on every try, so a writer can make a repeat harmless. At most `maxRetained` records
 * wait: past that the oldest are dropped, and `onError` hears how many. A crash loses what
 * was still waiting (one interval when Redis answers).
 */
export class WriteBehind<T> {
  #items: T[] = [];
  readonly #retained: Batch<T>[] = [];
  #retainedCount = 0;
  #dropped = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (items: T[], batch: string) => Promise<void>,
    private readonly onError: (error: unknown) => void,
    private readonly intervalMs = 50,
    private readonly maxItems = 500,
    private readonly maxRetained = 50_000,
  ) {}

  add(item: T): void {
    this.#items.push(item);
    // While a failed batch waits for its retry, new records join the queue behind it.
    if (this.#retryTimer) this.#trim();
    else if (this.#items.length >= this.maxItems) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  /** Writes what is buffered, and tries again what failed; resolves when every earlier write has finished or failed. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#items.length > 0) {
      this.#retained.push({ id: randomUUID(), items: this.#items });
      this.#retainedCount += this.#items.length;
      this.#items = [];
    }
    this.#flushing = this.#flushing.then(() => this.#drain());
    return this.#flushing;
  }

  /** Records written to nowhere yet (buffered or waiting for a retry). */
  get waiting(): number {
    return this.#retainedCount + this.#items.length;
  }

  async #drain(): Promise<void> {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    while (this.#retained.length > 0) {
      const batch = this.#retained[0]!;
      try {
        await this.write(batch.items, batch.id);
        this.#retained.shift();
        this.#retainedCount -= batch.items.length;
        this.#failures = 0;
      } catch (error) {
        if (error instanceof UnwrittenError && this.#retained[0] === batch) {
          this.#retainedCount -= batch.items.length - error.rest.length;
          batch.items = error.rest as T[];
        }
        this.onError(error);
        this.#failures += 1;
        this.#trim();
        const delay = Math.min(this.#failures * RETRY_STEP_MS, RETRY_MAX_MS);
        this.#retryTimer = setTimeout(() => void this.flush(), delay);
        this.#retryTimer.unref();
        return;
      }
    }
  }

  /** Drops the oldest records past `maxRetained`, and says so once per batch of drops. */
  #trim(): void {
    let over = this.waiting - this.maxRetained;
    if (over <= 0) return;
    this.#dropped += over;
    while (over > 0 && this.#retained.length > 0) {
      const oldest = this.#retained[0]!;
      const cut = Math.min(over, oldest.items.length);
      oldest.items = oldest.items.slice(cut);
      this.#retainedCount -= cut;
      over -= cut;
      if (oldest.items.length === 0) this.#retained.shift();
    }
    if (over > 0) this.#items = this.#items.slice(over);
    if (this.#dropped >= this.maxItems || !this.#retryTimer) {
      this.onError(new Error(`write-behind full (${this.maxRetained} records waiting): dropped the ${this.#dropped} oldest`));
      this.#dropped = 0;
    }
  }
}
