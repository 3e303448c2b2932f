import type { ServingBackend } from '../serving-backend.js';

/** The share of a model's time one explanation may take: it rests three times as long as each batch ran. */
const DUTY = 0.25;
/** Longest an explanation defers to a queue of other requests before it sends anyway (no starvation). */
const MAX_DEFER_MS = 250;
const POLL_MS = 2;
/** A batch should run about this long: short enough that a live request behind it hardly waits. */
const TARGET_BATCH_MS = 5;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Background pacing for an explanation's batches on one model version: priority alone orders
 * the queue, but a batch already running still delays a live request that arrives behind it.
 * So a batch is sent only when nothing else waits for the model (or after MAX_DEFER_MS), and
 * after each batch the explanation rests, leaving the instances free three quarters of the time. Batches
 * start at one row and grow (or shrink) toward TARGET_BATCH_MS of running time.
 */
export class LivePacer {
  #rows = 1;

  constructor(
    private readonly backend: ServingBackend,
    private readonly model: string,
    private readonly version: string,
  ) {}

  async beforeBatch(): Promise<void> {
    const start = performance.now();
    while (this.#waiting() > 0 && performance.now() - start < MAX_DEFER_MS) await sleep(POLL_MS);
  }

  /** Rows for the next batch, at most `max`. */
  rows(max: number): number {
    return Math.max(1, Math.min(this.#rows, max));
  }

  async afterBatch(tookMs: number, rows: number): Promise<void> {
    if (tookMs < TARGET_BATCH_MS / 2 && rows >= this.#rows) this.#rows *= 2;
    else if (tookMs > TARGET_BATCH_MS * 2) this.#rows = Math.max(1, Math.floor(rows / 2));
    await sleep((tookMs * (1 - DUTY)) / DUTY);
  }

  #waiting(): number {
    return this.backend.backlog().find((entry) => entry.model === this.model && entry.version === this.version)?.waiting ?? 0;
  }
}
