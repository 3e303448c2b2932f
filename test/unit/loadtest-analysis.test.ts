import { describe, expect, it } from 'vitest';
import { compareReports, formatChange } from '../../bench/loadtest/compare.js';
import { breakDown } from '../../bench/loadtest/header-breakdown.js';
import { findKnee } from '../../bench/loadtest/knee.js';
import { LatencyHistogram } from '../../bench/loadtest/latency-histogram.js';
import { classifyOutcome } from '../../bench/loadtest/outcomes.js';
import type { LoadTestReport } from '../../bench/loadtest/report.js';
import { interleave } from '../../bench/loadtest/request-schedule.js';
import { evaluateSlo, formatLimit } from '../../bench/loadtest/slo.js';

describe('SLO evaluation', () => {
  const measured = { p95Ms: 12, p99Ms: 30, errorRate: 0.002, throughputRps: 800 };
  it('passes when every limit holds, limits inclusive', () => {
    const verdict = evaluateSlo({ p95_ms: 12, p99_ms: 50, max_error_rate: 0.01, min_throughput_rps: 800 }, measured);
    expect(verdict.pass).toBe(true);
    expect(verdict.checks.map((c) => c.name)).toEqual(['p95_ms', 'p99_ms', 'max_error_rate', 'min_throughput_rps']);
  });
  it('fails on the one limit that is missed, and says which', () => {
    const verdict = evaluateSlo({ p95_ms: 20, min_throughput_rps: 1e9 }, measured);
    expect(verdict.pass).toBe(false);
    expect(verdict.checks.filter((c) => !c.pass)).toEqual([
      { name: 'min_throughput_rps', bound: 'floor', limit: 1e9, actual: 800, pass: false },
    ]);
    expect(evaluateSlo({ max_error_rate: 0.001 }, measured).pass).toBe(false);
  });
  it('says which limits are ceilings and which are floors', () => {
    const verdict = evaluateSlo({ p95_ms: 12, min_throughput_rps: 800 }, measured);
    expect(verdict.checks.map(formatLimit)).toEqual(['≤ 12 (ceiling)', '≥ 800 (floor)']);
  });
  it('has nothing to fail without SLOs', () => {
    expect(evaluateSlo({}, measured)).toEqual({ pass: true, checks: [] });
  });
});

describe('knee', () => {
  const point = (phase: number, throughputRps: number, p95Ms: number) => ({ phase, connections: 2 ** phase, throughputRps, p95Ms });
  it('is the most throughput whose p95 meets the SLO, not the last phase that met it', () => {
    const ramp = [point(0, 200, 2), point(1, 400, 3), point(2, 900, 8), point(3, 950, 14), point(4, 700, 9)];
    expect(findKnee(ramp, 10)).toEqual(point(2, 900, 8));
    expect(findKnee(ramp, 14)).toEqual(point(3, 950, 14));
  });
  it('is null when no phase meets the SLO', () => {
    expect(findKnee([point(0, 100, 20)], 10)).toBeNull();
  });
});

describe('compare', () => {
  const report = (throughputRps: number, p95Ms: number): LoadTestReport =>
    ({ throughputRps, totals: { latency: { p50Ms: 1, p95Ms, p99Ms: 9 }, errorRate: 0 }, breakdown: null }) as unknown as LoadTestReport;
  it('gives each figure its change and whether that is better', () => {
    const changes = compareReports(report(1000, 10), report(1100, 12));
    expect(changes.find((c) => c.figure === 'throughput_rps')).toEqual({
      figure: 'throughput_rps',
      previous: 1000,
      current: 1100,
      relative: expect.closeTo(0.1, 9),
      better: true,
    });
    const p95 = changes.find((c) => c.figure === 'p95_ms')!;
    expect(p95.better).toBe(false);
    expect(formatChange(p95)).toBe('p95_ms: 10 → 12 (+20.0 %, worse)');
    expect(changes.find((c) => c.figure === 'p50_ms')!.better).toBeNull();
    expect(changes.find((c) => c.figure === 'error_rate')!.relative).toBeNull();
    // Runs without timing headers have no breakdown: its figures are left out, not compared as 0.
    expect(changes.some((c) => c.figure.endsWith('_mean_ms'))).toBe(false);
  });
});

describe('answers', () => {
  it('tells refusals from errors', () => {
    expect(classifyOutcome(200, undefined, false)).toBe('ok');
    expect(classifyOutcome(200, undefined, true)).toBe('replayed');
    expect(classifyOutcome(429, 'budget_exceeded', false)).toBe('budget_exceeded');
    expect(classifyOutcome(429, 'rate_limited', false)).toBe('rate_limited');
    expect(classifyOutcome(503, 'queue_full', false)).toBe('unavailable');
    expect(classifyOutcome(409, 'idempotency_in_progress', false)).toBe('in_progress');
    expect(classifyOutcome(409, 'review_conflict', false)).toBe('client_error');
    expect(classifyOutcome(400, 'shape_mismatch', false)).toBe('client_error');
    expect(classifyOutcome(500, 'inference_failed', false)).toBe('server_error');
  });
  it('splits a latency with the timing headers, whatever their case', () => {
    // Without X-Server-Ms (another server) all of the rest counts as the gateway's.
    expect(breakDown(10, { 'X-Queue-Ms': '2.5', 'x-compute-ms': '1.5' })).toEqual({
      gatewayMs: 6,
      queueMs: 2.5,
      computeMs: 1.5,
      networkMs: 0,
    });
    expect(breakDown(10, { 'X-Queue-Ms': '2.5', 'x-compute-ms': '1.5', 'X-Server-Ms': '7' })).toEqual({
      gatewayMs: 3,
      queueMs: 2.5,
      computeMs: 1.5,
      networkMs: 3,
    });
    expect(breakDown(10, { 'content-type': 'application/json' })).toBeUndefined();
  });
});

describe('latency histogram', () => {
  it('gives percentiles within 1 % and the exact mean', () => {
    const histogram = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms += 1) histogram.record(ms);
    const summary = histogram.summary();
    expect(summary.meanMs).toBeCloseTo(500.5, 6);
    expect(summary.p50Ms).toBeGreaterThanOrEqual(500);
    expect(summary.p50Ms).toBeLessThanOrEqual(505);
    expect(summary.p99Ms).toBeGreaterThanOrEqual(990);
    expect(summary.p99Ms).toBeLessThanOrEqual(1000);
    expect(summary.maxMs).toBe(1000);
  });
  it('corrects coordinated omission: one 100 ms stall at 10 ms intervals also records the 9 sends it held back', () => {
    const histogram = new LatencyHistogram();
    histogram.recordCorrected(100, 10);
    expect(histogram.count).toBe(10);
    expect(histogram.sum).toBeCloseTo(100 + 90 + 80 + 70 + 60 + 50 + 40 + 30 + 20 + 10, 6);
  });
});

describe('request mix', () => {
  it('interleaves kinds by weight', () => {
    expect(interleave([3, 1])).toEqual([0, 0, 1, 0]);
    expect(interleave([1, 1, 1])).toEqual([0, 1, 2]);
  });
});
