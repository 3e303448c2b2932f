/** One warm-up run: a batch of `rows` rows took `ms` (the fastest of its timed runs). */
export interface CurvePoint {
  readonly rows: number;
  readonly ms: number;
}

/**
 * Per-row times this close to the best count as equally good: warm-up takes only a few runs per
 * size, and a cap drawn from noise would cost a GPU its big batches.
 */
export const CAP_TOLERANCE = 0.1;

/**
 * Largest batch worth forming: the largest measured size whose time per row is within
 * CAP_TOLERANCE of the best. Batching past it only makes every row slower (a convolutional
 * model on a few CPU cores), so the batcher stops there. When that is the largest size
 * measured, the curve was still falling where measurement stopped: no cap (a GPU's curve).
 */
export function batchCap(curve: readonly CurvePoint[], maxBatchSize: number): number {
  const measured = curve.filter((point) => point.rows >= 1 && point.rows <= maxBatchSize && Number.isFinite(point.ms) && point.ms >= 0);
  if (measured.length === 0) return maxBatchSize;
  const best = Math.min(...measured.map((point) => point.ms / point.rows));
  const good = measured.filter((point) => point.ms / point.rows <= best * (1 + CAP_TOLERANCE));
  const cap = Math.max(...good.map((point) => point.rows));
  const largest = Math.max(...measured.map((point) => point.rows));
  return cap === largest ? maxBatchSize : cap;
}
