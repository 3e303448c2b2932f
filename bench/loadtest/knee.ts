/** One phase of a ramp: the load it offered and what came back. */
export interface RampPoint {
  readonly phase: number;
  readonly connections: number;
  readonly throughputRps: number;
  readonly p95Ms: number;
}

/**
 * The knee: the most throughput reached with p95 still under the SLO. Past it, more load buys
 * latency, not throughput. Null when even the lightest phase misses the SLO.
 */
export function findKnee(points: readonly RampPoint[], p95LimitMs: number): RampPoint | null {
  let knee: RampPoint | null = null;
  for (const point of points) {
    if (point.p95Ms > p95LimitMs) continue;
    if (knee === null || point.throughputRps > knee.throughputRps) knee = point;
  }
  return knee;
}
