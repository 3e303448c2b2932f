import { headerValue, type ResponseHeaders } from './header-breakdown.js';

/** Which model version answered and in what batch, read off one answer's metadata headers. */
export interface ServedBy {
  /** `route v3`; the route is the model's own name when no route was called. */
  readonly version: string;
  readonly batchSize: number;
}

export interface ServedSummary {
  /** Answers per route and version: what the run actually tested. */
  readonly versions: Record<string, number>;
  /** Answers per X-Batch-Size: how well the batcher filled batches under this load. */
  readonly batchSizes: Record<string, number>;
}

export function servedBy(headers: ResponseHeaders): ServedBy | undefined {
  const version = headerValue(headers, 'x-model-version');
  if (version === undefined) return undefined;
  const route = headerValue(headers, 'x-route') ?? '?';
  const batchSize = Number(headerValue(headers, 'x-batch-size'));
  return { version: `${route} v${version}`, batchSize: Number.isInteger(batchSize) && batchSize > 0 ? batchSize : 0 };
}

/** Counts the 2xx answers' versions and batch sizes over a run. */
export class ServedTally {
  readonly #versions = new Map<string, number>();
  readonly #batchSizes = new Map<number, number>();

  record(served: ServedBy): void {
    this.#versions.set(served.version, (this.#versions.get(served.version) ?? 0) + 1);
    if (served.batchSize > 0) this.#batchSizes.set(served.batchSize, (this.#batchSizes.get(served.batchSize) ?? 0) + 1);
  }

  summary(): ServedSummary {
    return {
      versions: Object.fromEntries([...this.#versions].sort(([, a], [, b]) => b - a)),
      batchSizes: Object.fromEntries([...this.#batchSizes].sort(([a], [b]) => a - b).map(([size, count]) => [String(size), count])),
    };
  }
}
