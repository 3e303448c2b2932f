import { describe, expect, it } from 'vitest';
import type { Measured } from '../../workers/tuning/closed-loop.js';
import { batchSizes, instanceLayouts, type Candidate } from '../../workers/tuning/search-space.js';
import { choose, search, type MeasureCandidate, type Trial } from '../../workers/tuning/search.js';

/**
 * The search strategy over a given response surface (what a model measured would give), so
 * its choices can be checked exactly; tuner.test.ts runs it against a real model.
 */
function surface(throughput: (c: Candidate) => number, p95: (c: Candidate) => number = () => 100) {
  const seen: { candidate: Candidate; early: string | undefined }[] = [];
  const measure: MeasureCandidate = async (candidate, stage, stopEarly) => {
    const p95Ms = p95(candidate);
    const full: Measured = {
      throughput: throughput(candidate),
      p50Ms: p95Ms / 2,
      p95Ms,
      requests: 100,
      failures: 0,
      meanBatchRows: 1,
      measuredMs: 3000,
    };
    const early = stopEarly(full);
    seen.push({ candidate, early });
    const trial: Trial = { candidate, stage, loadMs: 10, provider: 'cpu', measured: early ? { ...full, stoppedEarly: early } : full };
    return trial;
  };
  return { measure, seen };
}

const configured: Candidate = { instanceCount: 1, intraOpThreads: 8, maxBatchSize: 64, preferredBatchSizes: [16, 64], maxQueueDelayMs: 5 };
const options = {
  cores: 8,
  modelMaxBatch: 64,
  configured,
  latencyBudgetMs: 500,
  maxConfigs: 100,
  deadline: Number.POSITIVE_INFINITY,
  now: () => 0,
};

describe('search space', () => {
  it('lays the cores out from one instance with all of them to one per core', () => {
    expect(instanceLayouts(8, false).map((l) => `${l.instances}x${l.threads}`)).toEqual(['1x8', '2x4', '4x2', '8x1']);
    expect(instanceLayouts(6, false).map((l) => `${l.instances}x${l.threads}`)).toEqual(['1x6', '2x3', '4x1', '6x1']);
    expect(instanceLayouts(16, true).map((l) => l.instances)).toEqual([1, 2, 4]);
  });

  it('tries batch sizes in powers of two up to the model limit', () => {
    expect(batchSizes(16)).toEqual([1, 2, 4, 8, 16]);
    expect(batchSizes(24)).toEqual([1, 2, 4, 8, 16, 24]);
    expect(batchSizes(0)).toEqual([0]);
  });
});

describe('search', () => {
  it('measures the hand-written settings first, then finds an interior peak of batch size and the best layout', async () => {
    // Peak at 4 instances x 2 threads, batch 8, no delay; each falls off smoothly around it.
    const batchFactor = (rows: number) => 2 - Math.abs(Math.log2(rows) - 3) * 0.25;
    const { measure, seen } = surface(
      (c) => 100 * (c.instanceCount === 4 ? 2 : 1) * batchFactor(c.maxBatchSize) * (c.maxQueueDelayMs === 0 ? 1.1 : 1),
    );
    const trials = await search(options, measure, () => false);
    expect(trials[0]!.stage).toBe('configured');
    expect(trials[0]!.candidate).toEqual(configured);
    const best = choose(trials, options.latencyBudgetMs)!.candidate;
    expect(best).toMatchObject({ instanceCount: 4, intraOpThreads: 2, maxBatchSize: 8, maxQueueDelayMs: 0 });
    // Coarse to fine: far fewer than the whole grid (4 layouts x 7 sizes x delays x preferred).
    expect(seen.length).toBeLessThan(20);
    expect(new Set(seen.map((s) => JSON.stringify(s.candidate))).size).toBe(seen.length);
  });

  it('chooses within the latency budget only, and stops clearly slower configurations early', async () => {
    // Bigger batches are faster but blow the budget past 8 rows; one instance with every core is best.
    const { measure, seen } = surface(
      (c) => 100 * c.maxBatchSize * (c.instanceCount === 1 ? 1 : 0.3),
      (c) => (c.maxBatchSize > 8 ? 900 : 100),
    );
    const trials = await search(options, measure, () => false);
    expect(choose(trials, 500)!.candidate.maxBatchSize).toBe(8);
    const early = seen.filter((s) => s.early);
    expect(early.length).toBeGreaterThan(0);
    for (const s of early) expect(s.early).toMatch(/under 50% of the best throughput|p95 over 3x the latency budget/);
    expect(trials.filter((t) => t.measured?.stoppedEarly).every((t) => t !== choose(trials, 500))).toBe(true);
  });

  it('keeps to max-configs and to the deadline', async () => {
    const { measure } = surface(() => 100);
    expect(await search({ ...options, maxConfigs: 3 }, measure, () => false)).toHaveLength(3);
    let clock = 0;
    const slow: MeasureCandidate = async (...args) => {
      clock += 1000;
      return measure(...args);
    };
    expect(await search({ ...options, deadline: 2500, now: () => clock }, slow, () => false)).toHaveLength(3);
  });

  it('a model without a batch dim varies only its instances', async () => {
    const { measure } = surface((c) => 100 * c.instanceCount);
    const unbatched = { ...configured, maxBatchSize: 0, preferredBatchSizes: [], maxQueueDelayMs: 0 };
    const trials = await search({ ...options, modelMaxBatch: 0, configured: unbatched }, measure, () => false);
    expect(trials.every((t) => t.candidate.maxBatchSize === 0)).toBe(true);
    expect(choose(trials, 500)!.candidate.instanceCount).toBe(8);
  });

  it('picks the lowest p95 when nothing meets the budget', () => {
    const trial = (throughput: number, p95Ms: number): Trial => ({
      candidate: configured,
      stage: 'layout',
      loadMs: 0,
      provider: 'cpu',
      measured: { throughput, p50Ms: p95Ms, p95Ms, requests: 10, failures: 0, meanBatchRows: 1, measuredMs: 1000 },
    });
    const trials = [trial(100, 900), trial(50, 600), trial(200, 2000)];
    expect(choose(trials, 500)).toBe(trials[1]);
  });

  it('among configurations within 10 % of the best throughput, takes the one with the least CPU per request', () => {
    const trial = (instanceCount: number, throughput: number, cpuMsPerRequest?: number): Trial => ({
      candidate: { ...configured, instanceCount },
      stage: 'layout',
      loadMs: 0,
      provider: 'cpu',
      measured: { throughput, p50Ms: 10, p95Ms: 20, requests: 100, failures: 0, meanBatchRows: 1, measuredMs: 1000, cpuMsPerRequest },
    });
    // 95 req/s at 20 ms CPU each beats 100 req/s at 28 ms; 80 req/s at 10 ms is too slow to count.
    const trials = [trial(1, 100, 28), trial(2, 95, 20), trial(4, 80, 10)];
    expect(choose(trials, 500)).toBe(trials[1]);
    // Without CPU figures for every close configuration, the highest throughput.
    expect(choose([trial(1, 100, 28), trial(2, 95)], 500)!.candidate.instanceCount).toBe(1);
  });
});
