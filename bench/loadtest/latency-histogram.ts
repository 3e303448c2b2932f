/**
 * Latencies in log-spaced buckets (1 % wide, 1 µs to about 10 minutes): percentiles to 1 %
 * in constant memory however long a soak runs, and windows merge by adding counts.
 */
const MIN_MS = 0.001;
const GROWTH = 1.01;
const BUCKETS = Math.ceil(Math.log(600_000 / MIN_MS) / Math.log(GROWTH)) + 1;
const LOG_GROWTH = Math.log(GROWTH);

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #max = 0;

  record(ms: number): void {
    const value = Math.max(ms, MIN_MS);
    const bucket = Math.min(BUCKETS - 1, Math.floor(Math.log(value / MIN_MS) / LOG_GROWTH));
    this.#counts[bucket]! += 1;
    this.#count += 1;
    this.#sum += value;
    if (value > this.#max) this.#max = value;
  }

  /**
   * Also records the latencies that requests held back by this slow one would have seen had
   * they been sent on schedule (coordinated omission), the way HdrHistogram corrects.
   */
  recordCorrected(ms: number, expectedIntervalMs: number): void {
    this.record(ms);
    if (expectedIntervalMs <= 0) return;
    for (let missed = ms - expectedIntervalMs; missed >= expectedIntervalMs; missed -= expectedIntervalMs) this.record(missed);
  }

  add(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i += 1) this.#counts[i]! += other.#counts[i]!;
    this.#count += other.#count;
    this.#sum += other.#sum;
    this.#max = Math.max(this.#max, other.#max);
  }

  get count(): number {
    return this.#count;
  }

  get sum(): number {
    return this.#sum;
  }

  /** The upper edge of the bucket holding the p-th percentile (nearest rank), capped at the max seen. */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i += 1) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.#max, MIN_MS * GROWTH ** (i + 1));
    }
    return this.#max;
  }

  summary(): LatencySummary {
    const r = (ms: number): number => Math.round(ms * 1000) / 1000;
    return {
      count: this.#count,
      meanMs: r(this.#count === 0 ? 0 : this.#sum / this.#count),
      p50Ms: r(this.percentile(50)),
      p90Ms: r(this.percentile(90)),
      p95Ms: r(this.percentile(95)),
      p99Ms: r(this.percentile(99)),
      maxMs: r(this.#max),
    };
  }
}
