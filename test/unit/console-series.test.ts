import { describe, expect, it } from 'vitest';
import { ConsoleSeries } from '../../gateway/console/console-series.js';

describe('console series', () => {
  it('keeps 10 s points of requests, p50/p95 latency and the deepest queue seen', () => {
    let now = 1_000_000;
    const series = new ConsoleSeries(() => now);
    for (let ms = 1; ms <= 100; ms += 1) series.finished('m', ms);
    series.queued('m', 3);
    series.queued('m', 7);
    series.queued('m', 2);
    now += 10_000;
    series.finished('m', 5);
    const [entry] = series.snapshot();
    expect(entry!.target).toBe('m');
    expect(entry!.points.map(({ count, p50Ms, p95Ms, queued }) => ({ count, p50Ms, p95Ms, queued }))).toEqual([
      { count: 100, p50Ms: 51, p95Ms: 96, queued: 7 },
      { count: 1, p50Ms: 5, p95Ms: 5, queued: 0 },
    ]);
  });

  it('forgets points older than ten minutes', () => {
    let now = 0;
    const series = new ConsoleSeries(() => now);
    series.finished('m', 1);
    now += 11 * 60_000;
    series.finished('m', 2);
    expect(series.snapshot()[0]!.points).toHaveLength(1);
  });
});
