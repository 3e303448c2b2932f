import { describe, expect, it } from 'vitest';
import type { ReviewItem } from '../../gateway/review/review-item.js';
import { quantile, reviewStats } from '../../gateway/review/review-stats.js';

const at = (seconds: number): string => new Date(Date.UTC(2026, 0, 1) + seconds * 1000).toISOString();

function item(id: string, route: string, state: ReviewItem['state'], resolvedAfterS?: number): ReviewItem {
  return {
    id,
    route,
    tenant: 't',
    request_id: id,
    created_at: at(0),
    state,
    reason: 'low_confidence',
    model: 'm',
    version: '1',
    input_ref: { sha256: 'x', bytes: 0, content_type: 'application/json' },
    model_output: [],
    ...(resolvedAfterS !== undefined ? { resolved_by: 'ops', resolved_at: at(resolvedAfterS), decision: 'approved' as const } : {}),
  };
}

describe('review stats', () => {
  it('nearest-rank quantiles', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
    expect(quantile([7], 0.9)).toBe(7);
  });

  it('rate per route from the counters; states and resolution times from the items', () => {
    const items = [
      ...Array.from({ length: 10 }, (_, i) => item(`r${i}`, 'a', 'resolved', (i + 1) * 10)),
      item('p', 'a', 'pending'),
      item('c', 'a', 'claimed'),
      item('b', 'b', 'pending'),
    ];
    const stats = reviewStats({ a: { routed: 48, created: 12 }, quiet: { routed: 5, created: 0 } }, items);
    expect(stats.a).toEqual({
      requests: 48,
      items: 12,
      rate: 0.25,
      pending: 1,
      claimed: 1,
      resolved: 10,
      resolution_seconds: { median: 50, p90: 90 },
    });
    expect(stats.quiet).toMatchObject({ requests: 5, items: 0, rate: 0, resolution_seconds: { median: null, p90: null } });
    // Items whose counters were lost still show (rate 0: no requests counted).
    expect(stats.b).toMatchObject({ requests: 0, items: 1, rate: 0, pending: 1 });
  });
});
