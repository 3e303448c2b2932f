import type { InferTimings } from '../../workers/protocol/inference.js';
import type { ModelConfig } from '../../workers/repository/model-config.js';

/**
 * What one request cost: the model's per-request price plus its share of the batch's
 * compute time (its rows over the batch's rows) at the model's compute price.
 */
export function requestCost(price: ModelConfig['price'], timings: InferTimings, rows: number): number {
  const share = timings.batchRows > 0 ? rows / timings.batchRows : 1;
  return price.usd_per_request + (timings.computeMs / 1000) * share * price.usd_per_compute_second;
}

/** Fixed-point with no exponent and no trailing zeros, for headers and JSON. */
export function formatUsd(cost: number): string {
  return cost.toFixed(12).replace(/\.?0+$/, '') || '0';
}
