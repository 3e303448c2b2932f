import { describe, expect, it } from 'vitest';
import { htmlReport } from '../../bench/loadtest/html-report.js';
import { markdownReport } from '../../bench/loadtest/markdown-report.js';
import type { LoadTestReport } from '../../bench/loadtest/report.js';
import type { WindowSummary } from '../../bench/loadtest/run-recorder.js';
import { ServedTally, servedBy } from '../../bench/loadtest/served-by.js';
import { evaluateSlo } from '../../bench/loadtest/slo.js';
import { lineChart, stackedColumns } from '../../bench/loadtest/svg-charts.js';
import { Tally } from '../../bench/loadtest/tally.js';

const window = (t: number, throughputRps: number, partial = false): WindowSummary => ({
  t,
  phase: 0,
  partial,
  answered: throughputRps,
  throughputRps,
  refused: 0,
  errors: 0,
  p50Ms: 2,
  p95Ms: 4,
  p99Ms: 6,
  meanGatewayMs: 0.5,
  meanQueueMs: 1,
  meanComputeMs: 1.5,
  meanNetworkMs: 0.2,
});

function report(): LoadTestReport {
  const tally = new Tally(true);
  for (const latencyMs of [1, 2, 3, 4, 50]) {
    tally.recordResponse({ latencyMs, status: 200, outcome: 'ok', code: undefined, breakdown: undefined, expectedIntervalMs: 0 });
  }
  const served = new ServedTally();
  for (const size of [4, 4, 16])
    served.record(servedBy({ 'X-Route': 'mlp-classifier', 'X-Model-Version': '2', 'X-Batch-Size': String(size) })!);
  const totals = tally.summary();
  return {
    schema: 1,
    scenario: { name: 'smoke', description: 'A smoke test.', file: 'smoke.json', findKnee: false },
    target: 'http://127.0.0.1:1',
    startedAt: '2026-12-06T10:00:00.000Z',
    durationS: 3.06,
    throughputRps: 1000,
    totals,
    breakdown: null,
    phases: [],
    kinds: [],
    // The last window is 60 ms long: its 63 answers would chart as 1,050 req/s or, scaled the other way, a collapse.
    windows: [window(0, 1000), window(1, 990), window(2, 1010), window(3, 7777, true)],
    served: served.summary(),
    knee: null,
    slo: evaluateSlo(
      { p95_ms: 100, min_throughput_rps: 500 },
      { p95Ms: totals.latency.p95Ms, p99Ms: totals.latency.p99Ms, errorRate: 0, throughputRps: 1000 },
    ),
    notes: [],
  };
}

const tickLabelXs = (svg: string): string[] =>
  [...svg.matchAll(/<text x="([\d.]+)" y="(\d+)" text-anchor="middle">[\d.k]+<\/text>/g)].map((m) => m[1]!);

describe('load-test report pages', () => {
  it('leave the partial last window out of the charts and say so', () => {
    const html = htmlReport(report(), undefined);
    expect(html).not.toContain('7777');
    expect(html).toContain('leave out 1 partial window(s)');
  });

  it('show p90, max, the versions that answered and the batch-size distribution', () => {
    const r = report();
    const html = htmlReport(r, undefined);
    expect(html).toContain(`${r.totals.latency.maxMs} ms</b><span>max`);
    expect(html).toContain(`${r.totals.latency.p90Ms} ms</b><span>p90`);
    expect(html).toContain('Answered by mlp-classifier v2 (3).');
    expect(html).toContain('batch of 16');
    const md = markdownReport(r, undefined);
    expect(md).toContain('Answered by: `mlp-classifier v2` × 3.');
    expect(md).toContain('Batch sizes (X-Batch-Size): 4 × 2, 16 × 1.');
    expect(md).toContain('| p95_ms | ≤ 100 (ceiling) |');
    expect(md).toContain('| min_throughput_rps | ≥ 500 (floor) |');
  });

  it('draw the time charts on one x axis', () => {
    const lines = lineChart(
      'l',
      'seconds',
      'ms',
      [
        {
          name: 'p50',
          color: '#000',
          points: [
            [0.5, 1],
            [1.5, 2],
            [2.5, 3],
          ],
        },
      ],
      [],
      3,
    );
    const columns = stackedColumns('c', 'seconds', 'ms', [{ name: 'compute', color: '#000', values: [1, 2, 3] }], 3);
    expect(tickLabelXs(lines).length).toBeGreaterThan(2);
    expect(tickLabelXs(columns)).toEqual(tickLabelXs(lines));
  });

  it('read the served version only off answers that carry one', () => {
    expect(servedBy({ 'content-type': 'application/json' })).toBeUndefined();
    expect(servedBy({ 'x-model-version': '1', 'x-batch-size': 'x' })).toEqual({ version: '? v1', batchSize: 0 });
  });
});
