import type { ReviewItem } from './review-item.js';
import type { RouteCounts } from './review-store.js';

/** Review rate and time to resolution for one route. */
export interface RouteReviewStats {
  /** Answers given on the route since its counters began. */
  readonly requests: number;
  /** Review items created on the route since its counters began. */
  readonly items: number;
  /** items / requests; 0 before any request. */
  readonly rate: number;
  readonly pending: number;
  readonly claimed: number;
  /** Resolved items still retained, which the durations below are computed from. */
  readonly resolved: number;
  readonly resolution_seconds: { readonly median: number | null; readonly p90: number | null };
}

/**
 * Pure, so the metrics exporter can call it too: the counters give the rate, the
 * retained items give states and creation-to-resolution durations (nearest-rank quantiles).
 */
export function reviewStats(counts: Readonly<Record<string, RouteCounts>>, items: readonly ReviewItem[]): Record<string, RouteReviewStats> {
  const routes = new Set([...Object.keys(counts), ...items.map((item) => item.route)]);
  const out: Record<string, RouteReviewStats> = {};
  for (const route of [...routes].sort()) {
    const own = items.filter((item) => item.route === route);
    const durations = own
      .filter((item) => item.state === 'resolved' && item.resolved_at !== undefined)
      .map((item) => (Date.parse(item.resolved_at!) - Date.parse(item.created_at)) / 1000)
      .sort((a, b) => a - b);
    const requests = counts[route]?.routed ?? 0;
    const created = counts[route]?.created ?? own.length;
    out[route] = {
      requests,
      items: created,
      rate: requests > 0 ? created / requests : 0,
      pending: own.filter((item) => item.state === 'pending').length,
      claimed: own.filter((item) => item.state === 'claimed').length,
      resolved: durations.length,
      resolution_seconds: { median: quantile(durations, 0.5), p90: quantile(durations, 0.9) },
    };
  }
  return out;
}

/** Nearest-rank quantile of sorted values; null when there are none. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
