import type { Measured } from './closed-loop.js';
import { batching, batchSizes, candidateKey, instanceLayouts, type Candidate, type Layout } from './search-space.js';

export type Stage = 'configured' | 'layout' | 'batch size' | 'batching' | 'layout again';

export interface Trial {
  readonly candidate: Candidate;
  readonly stage: Stage;
  /** Starting and warming the instances. */
  readonly loadMs: number;
  readonly provider: string;
  /** The batch cap the version's warm-up curve gave (batch-cap.ts): batches never grew past it. */
  readonly batchCap?: number;
  readonly measured?: Measured;
  /** Why it could not be measured. */
  readonly error?: string;
}

export interface SearchOptions {
  readonly cores: number;
  /** The model's own max_batch_size (0: it does not batch). */
  readonly modelMaxBatch: number;
  /** The hand-written settings: measured first, so the report can compare. */
  readonly configured: Candidate;
  readonly latencyBudgetMs: number;
  readonly maxConfigs: number;
  /** performance.now() after which no configuration is started. */
  readonly deadline: number;
  readonly now: () => number;
}

/** Measures one candidate; `stopEarly` ends it once it is clearly out of the running. */
export type MeasureCandidate = (candidate: Candidate, stage: Stage, stopEarly: (sofar: Measured) => string | undefined) => Promise<Trial>;

/** A configuration that may be chosen: fully measured, no failures, p95 within the budget. */
export function eligible(trial: Trial, budgetMs: number): boolean {
  const m = trial.measured;
  return m !== undefined && !m.stoppedEarly && m.failures === 0 && m.requests > 0 && m.p95Ms <= budgetMs;
}

/** Throughputs within this share of the best are too close to rank by throughput on a shared machine. */
const NEAR_BEST = 0.9;

/**
 * The highest throughput within the budget; among those within 10 % of it, the one that spends the
 * least CPU per request when every one of them measured it (on a machine shared with other work the
 * throughput of close configurations ranks when they ran, CPU per request what they cost; on a quiet
 * one the cheaper configuration leaves more of the cores to the gateway's own work). When none is
 * within the budget, the lowest p95.
 */
export function choose(trials: readonly Trial[], budgetMs: number): Trial | undefined {
  const within = trials.filter((trial) => eligible(trial, budgetMs));
  if (within.length > 0) {
    const fastest = within.reduce((best, trial) => (trial.measured!.throughput > best.measured!.throughput ? trial : best));
    const near = within.filter((trial) => trial.measured!.throughput >= fastest.measured!.throughput * NEAR_BEST);
    if (near.some((trial) => trial.measured!.cpuMsPerRequest === undefined)) return fastest;
    return near.reduce((best, trial) => (trial.measured!.cpuMsPerRequest! < best.measured!.cpuMsPerRequest! ? trial : best));
  }
  const measured = trials.filter(
    (trial) => trial.measured && trial.measured.failures === 0 && trial.measured.requests > 0 && !trial.measured.stoppedEarly,
  );
  return measured.reduce<Trial | undefined>(
    (best, trial) => (!best || trial.measured!.p95Ms < best.measured!.p95Ms ? trial : best),
    undefined,
  );
}

/** Below half the best throughput, or p95 at three times the budget: not worth finishing. */
const SLOWER_THAN_BEST = 0.5;
const OVER_BUDGET = 3;

/**
 * Coarse to fine: the hand-written settings; every instance layout unbatched and at the model's
 * largest batch; batch sizes around the best (hill climbing over powers of two); its queue delay
 * and preferred size; the other layouts at the best batching. Stops at maxConfigs or the deadline.
 */
export async function search(options: SearchOptions, measure: MeasureCandidate, onGpu: () => boolean): Promise<Trial[]> {
  const trials: Trial[] = [];
  const tried = new Set<string>();
  const best = (): Trial | undefined => choose(trials, options.latencyBudgetMs);
  const stopEarly = (sofar: Measured): string | undefined => {
    const leader = best()?.measured;
    if (leader && eligible(best()!, options.latencyBudgetMs) && sofar.throughput < leader.throughput * SLOWER_THAN_BEST) {
      return `under ${SLOWER_THAN_BEST * 100}% of the best throughput`;
    }
    if (sofar.p95Ms > options.latencyBudgetMs * OVER_BUDGET) return `p95 over ${OVER_BUDGET}x the latency budget`;
    return undefined;
  };
  const out = (): boolean => trials.length >= options.maxConfigs || options.now() >= options.deadline;
  const run = async (candidate: Candidate, stage: Stage): Promise<void> => {
    const key = candidateKey(candidate);
    if (tried.has(key) || out()) return;
    tried.add(key);
    trials.push(await measure(candidate, stage, stopEarly));
  };

  await run(options.configured, 'configured');
  const layouts = instanceLayouts(options.cores, onGpu());
  const sizes = batchSizes(options.modelMaxBatch);
  const delay = options.configured.maxQueueDelayMs;
  const unbatched = options.modelMaxBatch === 0 ? 0 : 1;
  for (const layout of layouts) {
    await run(batching(layout, unbatched, 0), 'layout');
    await run(batching(layout, options.modelMaxBatch, delay), 'layout');
  }

  // Hill climb over batch sizes on the best layout.
  const layoutOf = (candidate: Candidate): Layout => ({ instances: candidate.instanceCount, threads: candidate.intraOpThreads });
  for (let moved = true; moved && !out(); ) {
    moved = false;
    const leader = best()?.candidate;
    if (!leader || sizes.length < 2) break;
    const at = sizes.indexOf(leader.maxBatchSize);
    for (const neighbour of [sizes[at - 1], sizes[at + 1]]) {
      if (neighbour === undefined) continue;
      const before = trials.length;
      await run(batching(layoutOf(leader), neighbour, neighbour > 1 ? delay : 0), 'batch size');
      if (trials.length > before && best()?.candidate !== leader) moved = true;
    }
  }

  // Queue delay and a preferred size for the best batching.
  const batched = best()?.candidate;
  if (batched && batched.maxBatchSize > 1) {
    for (const delayMs of [0, Math.max(1, delay * 4)]) await run(batching(layoutOf(batched), batched.maxBatchSize, delayMs), 'batching');
    const tuned = best()!.candidate;
    await run(batching(layoutOf(tuned), tuned.maxBatchSize, tuned.maxQueueDelayMs, [tuned.maxBatchSize]), 'batching');
  }

  // The other layouts, with the batching found on the best one.
  const winner = best()?.candidate;
  if (winner) {
    for (const layout of layouts) {
      await run(batching(layout, winner.maxBatchSize, winner.maxQueueDelayMs, winner.preferredBatchSizes), 'layout again');
    }
  }
  return trials;
}
