import type { ServingBackend } from '../serving-backend.js';
import { liveCallsInFlight } from '../request/live-calls.js';

/**
 * The share of wall time one explanation may keep busy beside live traffic: its batches and
 * its own work between them. A live request that arrives while an explanation's batch runs
 * waits for it (and shares the CPU with it), so about this share of live requests is delayed,
 * by at most one batch; kept under the tail a p95 looks at.
 */
export const LIVE_DUTY = 0.2;
/** Longest an explanation defers to live calls in progress, and then to a queue of them, before it sends anyway (no starvation). */
const MAX_DEFER_MS = 250;
const POLL_MS = 2;
/** A batch should run about this long: short enough that a live request behind it hardly waits. */
const TARGET_BATCH_MS = 5;
/**
 * Live traffic seen this recently keeps the explanation resting. Longer than distributed
 * mode's statistics lag (worker heartbeat and registry poll, a second each), so a model
 * served elsewhere does not look idle between two refreshes.
 */
const LIVE_MEMORY_MS = 3000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Until when each model version counts as having live traffic: shared by this process's explanations, so a new one starts resting. */
const liveUntil = new Map<string, number>();

/**
 * Background pacing for an explanation's batches on one model version: priority alone orders
 * the queue, but a batch already running still delays a live request that arrives behind it.
 * So a batch is sent only when nothing else waits for the model and no live call on it is in
 * progress in this gateway (live-calls.ts) (after MAX_DEFER_MS, when none is queued; after
 * twice that, anyway); and while other requests
 * reach the model, the explanation rests after each batch so that it is busy at most
 * LIVE_DUTY of the time; alone on the model it runs flat out. Other requests are
 * the version's served rows beyond the explanation's own, counted from its start, so stale
 * statistics (distributed mode) can delay seeing them but never invent them; and live calls
 * it had to wait for in this gateway count at once. What one explanation sees, the next
 * one on the model knows. Where the gateway sees no statistics at all it always rests. Batches start at one row and grow (or
 * shrink) toward TARGET_BATCH_MS of running time.
 */
export class LivePacer {
  #rows = 1;
  /** The version's served rows when the explanation began, and the rows it has had served since. */
  #start: number | undefined;
  #own = 0;
  #others = 0;
  /** When the last rest (or batch) ended: the explanation's own work since then counts as busy. */
  #idleEnded: number | undefined;
  #ownWorkMs = 0;

  constructor(
    private readonly backend: ServingBackend,
    private readonly model: string,
    private readonly version: string,
  ) {}

  async beforeBatch(): Promise<void> {
    const ownWork = this.#idleEnded === undefined ? 0 : performance.now() - this.#idleEnded;
    const start = performance.now();
    // Best, a moment with no live call in progress; on a model never idle, at least one with none queued.
    let deferred = false;
    for (; (this.#waiting() > 0 || liveCallsInFlight(this.model) > 0) && performance.now() - start < MAX_DEFER_MS; deferred = true)
      await sleep(POLL_MS);
    for (; this.#waiting() > 0 && performance.now() - start < 2 * MAX_DEFER_MS; deferred = true) await sleep(POLL_MS);
    // Live calls met here are live traffic at once, in either mode; the served counts may lag.
    if (deferred) this.#sawLive();
    this.#start ??= this.#rowsServed();
    this.#ownWorkMs = ownWork;
  }

  /** Rows for the next batch, at most `max`. */
  rows(max: number): number {
    return Math.max(1, Math.min(this.#rows, max));
  }

  /** Rests as the duty asks; returns how long it rested (ms). */
  async afterBatch(tookMs: number, rows: number): Promise<number> {
    if (tookMs < TARGET_BATCH_MS / 2 && rows >= this.#rows) this.#rows *= 2;
    else if (tookMs > TARGET_BATCH_MS * 2) this.#rows = Math.max(1, Math.floor(rows / 2));
    this.#own += rows;
    const now = performance.now();
    const blind = this.#sawOthers();
    const until = blind ? Number.POSITIVE_INFINITY : (liveUntil.get(this.#key) ?? 0);
    const rest = now < until ? ((tookMs + this.#ownWorkMs) * (1 - LIVE_DUTY)) / LIVE_DUTY : 0;
    if (rest > 0) await sleep(rest);
    this.#idleEnded = performance.now();
    return rest;
  }

  /** Notes rows other than the explanation's served since the last look; true when there are no counts to look at. */
  #sawOthers(): boolean {
    const served = this.#rowsServed();
    if (served === undefined || this.#start === undefined) return true;
    const others = served - this.#start - this.#own;
    if (others > this.#others) this.#sawLive();
    this.#others = Math.max(this.#others, others);
    return false;
  }

  #sawLive(): void {
    liveUntil.set(this.#key, performance.now() + LIVE_MEMORY_MS);
  }

  get #key(): string {
    return `${this.model}\u0000${this.version}`;
  }

  #waiting(): number {
    return this.backend.backlog().find((entry) => entry.model === this.model && entry.version === this.version)?.waiting ?? 0;
  }

  /** Rows the version has served, as this gateway counts them; undefined where it does not. */
  #rowsServed(): number | undefined {
    return this.backend.statistics(this.model, this.version)[0]?.inference_count;
  }
}
