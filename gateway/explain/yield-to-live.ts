import type { ServingBackend } from '../serving-backend.js';

/** The share of a model's time one explanation may take beside live traffic: it rests three times as long as each batch ran. */
const DUTY = 0.25;
/** Longest an explanation defers to a queue of other requests before it sends anyway (no starvation). */
const MAX_DEFER_MS = 250;
const POLL_MS = 2;
/** A batch should run about this long: short enough that a live request behind it hardly waits. */
const TARGET_BATCH_MS = 5;
/** Live traffic seen this recently keeps the explanation resting. */
const LIVE_MEMORY_MS = 1000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Background pacing for an explanation's batches on one model version: priority alone orders
 * the queue, but a batch already running still delays a live request that arrives behind it.
 * So a batch is sent only when nothing else waits for the model (or after MAX_DEFER_MS), and
 * while other requests reach the model (its row count grows by more than the explanation's
 * own), the explanation rests after each batch, leaving the instances free three quarters of
 * the time; alone on the model it runs flat out. Where this gateway sees no statistics for
 * the model (distributed mode), it always rests. Batches start at one row and grow (or
 * shrink) toward TARGET_BATCH_MS of running time.
 */
export class LivePacer {
  #rows = 1;
  #counted: number | undefined;
  #liveUntil = Number.POSITIVE_INFINITY;

  constructor(
    private readonly backend: ServingBackend,
    private readonly model: string,
    private readonly version: string,
  ) {}

  async beforeBatch(): Promise<void> {
    const start = performance.now();
    while (this.#waiting() > 0 && performance.now() - start < MAX_DEFER_MS) await sleep(POLL_MS);
    this.#counted ??= this.#rowsServed();
  }

  /** Rows for the next batch, at most `max`. */
  rows(max: number): number {
    return Math.max(1, Math.min(this.#rows, max));
  }

  async afterBatch(tookMs: number, rows: number): Promise<void> {
    if (tookMs < TARGET_BATCH_MS / 2 && rows >= this.#rows) this.#rows *= 2;
    else if (tookMs > TARGET_BATCH_MS * 2) this.#rows = Math.max(1, Math.floor(rows / 2));
    const served = this.#rowsServed();
    const now = performance.now();
    if (served === undefined || this.#counted === undefined) this.#liveUntil = Number.POSITIVE_INFINITY;
    else if (served - this.#counted > rows) this.#liveUntil = now + LIVE_MEMORY_MS;
    else if (this.#liveUntil === Number.POSITIVE_INFINITY) this.#liveUntil = 0;
    this.#counted = served;
    if (now < this.#liveUntil) await sleep((tookMs * (1 - DUTY)) / DUTY);
  }

  #waiting(): number {
    return this.backend.backlog().find((entry) => entry.model === this.model && entry.version === this.version)?.waiting ?? 0;
  }

  /** Rows the version has served, as this gateway counts them; undefined where it does not. */
  #rowsServed(): number | undefined {
    return this.backend.statistics(this.model, this.version)[0]?.inference_count;
  }
}
