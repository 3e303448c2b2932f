/** One warm-up run: a batch of `rows` rows took `ms` (the fastest of its timed runs). */
export interface CurvePoint {
  readonly rows: number;
  readonly ms: number;
}

/**
 * Largest batch worth forming: the measured size with the best time per row. Batching past it
 * only makes every row slower (a convolutional model on a few CPU cores), so the batcher
 * stops there. When the best is the largest size measured and the batcher allows more, the
 * curve was still falling where measurement stopped: no cap (a GPU's curve).
 */
export function batchCap(curve: readonly CurvePoint[], maxBatchSize: number): number {
  const measured = curve.filter((point) => point.rows >= 1 && point.rows <= maxBatchSize && Number.isFinite(point.ms) && point.ms >= 0);
  if (measured.length === 0) return maxBatchSize;
  let best = measured[0]!;
  for (const point of measured) {
    const perRow = point.ms / point.rows;
    const bestPerRow = best.ms / best.rows;
    if (perRow < bestPerRow || (perRow === bestPerRow && point.rows > best.rows)) best = point;
  }
  const largest = Math.max(...measured.map((point) => point.rows));
  return best.rows === largest ? maxBatchSize : best.rows;
}
