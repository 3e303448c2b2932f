/** Seconds per point of the console's charts, and how many points it keeps. */
const BUCKET_MS = 10_000;
const BUCKETS = 60;
/** Latencies kept per bucket and target for the percentiles (a uniform sample beyond that). */
const SAMPLE = 512;

interface Bucket {
  start: number;
  count: number;
  latencies: number[];
  /** Most requests seen queued for the target in the bucket (sampled). */
  queued: number;
}

export interface SeriesPoint {
  readonly t: number;
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly queued: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * The last ten minutes of each model, route or pipeline's traffic at this gateway, in
 * 10 s points: requests, p50/p95 latency, and the most requests seen queued for a model
 * (sampled from the backend). Targets come from names the router matched or the backend
 * serves, so their number is bounded by the config.
 */
export class ConsoleSeries {
  readonly #buckets = new Map<string, Bucket[]>();
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** How far back the series reach, and the span of one point. */
  get windowMs(): number {
    return BUCKET_MS * BUCKETS;
  }

  get bucketMs(): number {
    return BUCKET_MS;
  }

  /** Records how many requests wait for `target` now; the bucket keeps the largest sample. */
  queued(target: string, waiting: number): void {
    const bucket = this.#bucket(target);
    bucket.queued = Math.max(bucket.queued, waiting);
  }

  finished(target: string, latencyMs: number): void {
    const bucket = this.#bucket(target);
    bucket.count += 1;
    if (bucket.latencies.length < SAMPLE) bucket.latencies.push(latencyMs);
    else {
      const slot = Math.floor(Math.random() * bucket.count);
      if (slot < SAMPLE) bucket.latencies[slot] = latencyMs;
    }
  }

  snapshot(): { target: string; points: SeriesPoint[] }[] {
    const oldest = this.#clock() - BUCKET_MS * BUCKETS;
    return [...this.#buckets.entries()].map(([target, buckets]) => ({
      target,
      points: buckets
        .filter((bucket) => bucket.start >= oldest)
        .map((bucket) => {
          const sorted = [...bucket.latencies].sort((a, b) => a - b);
          return {
            t: bucket.start,
            count: bucket.count,
            p50Ms: percentile(sorted, 50),
            p95Ms: percentile(sorted, 95),
            queued: bucket.queued,
          };
        }),
    }));
  }

  #bucket(target: string): Bucket {
    const start = Math.floor(this.#clock() / BUCKET_MS) * BUCKET_MS;
    let buckets = this.#buckets.get(target);
    if (!buckets) {
      buckets = [];
      this.#buckets.set(target, buckets);
    }
    let last = buckets[buckets.length - 1];
    if (!last || last.start !== start) {
      last = { start, count: 0, latencies: [], queued: 0 };
      buckets.push(last);
      if (buckets.length > BUCKETS) buckets.shift();
    }
    return last;
  }
}
