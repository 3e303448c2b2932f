import { collectDefaultMetrics, Registry } from 'prom-client';

export const METRIC_PREFIX = 'switchyard_';

/**
 * Latency buckets in seconds: fine enough to tell 0.5 ms from 1 ms and 2 ms (a batch of
 * the demo MLP computes in about 1 ms), up to 10 s for image pipelines under load.
 */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];

/**
 * One registry per process (passed to whatever records, never a global: tests run several
 * gateways in one process), with Node's process metrics under the same prefix.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}
