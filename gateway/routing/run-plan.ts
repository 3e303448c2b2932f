import { ServingError, isServingError } from '../../workers/protocol/errors.js';
import type { InferResult, ValidInferRequest } from '../../workers/protocol/inference.js';
import { requestCost } from '../metadata/request-cost.js';
import type { ServingBackend } from '../serving-backend.js';
import type { CircuitBreakers } from './circuit-breaker.js';
import { confidence } from './choose-tiers.js';
import type { InferencePlan, PlannedTier } from './plan-inference.js';
import type { ShadowStats } from './shadow-stats.js';
import type { CacheSource } from '../cache/raw-index.js';

/** What one tier that answered cost. */
export interface TierCharge {
  readonly model: string;
  readonly version: string;
  readonly usd: number;
}

export interface PlanOutcome {
  readonly result: InferResult;
  readonly served: PlannedTier;
  /** A cascade ran a later tier because an earlier one was not confident enough. */
  readonly escalated: boolean;
  /** What the caller is charged for everything that ran for this request, all tiers included. */
  readonly costUsd: number;
  /** Each tier that ran: for the ledger. */
  readonly charges: readonly TierCharge[];
  /** Set when a model of the plan caches: answered from the response cache, or run and kept. */
  readonly cache?: 'hit' | 'miss';
  /** On a hit: the cache entries the answer was read from. */
  readonly sources?: readonly CacheSource[];
}

/** Failures that say the tier is unhealthy (not the caller's fault). */
function countsAgainstTier(error: unknown): boolean {
  return !isServingError(error) || error.status >= 500;
}

/**
 * Runs a plan: the first tier whose breaker allows it; on a tier failure, the next.
 * A cascade keeps going while the answer's confidence is under the threshold. Each tier
 * that answers is pushed to `charges` as it answers, so a plan that fails later still
 * tells what ran.
 */
export async function runPlan(
  plan: InferencePlan,
  infer: (request: ValidInferRequest) => Promise<InferResult>,
  breakers: CircuitBreakers,
  charges: TierCharge[],
): Promise<Omit<PlanOutcome, 'costUsd' | 'charges' | 'cache'>> {
  const cascade = plan.routeConfig?.policy.type === 'cascade' ? plan.routeConfig.policy : undefined;
  let best: { result: InferResult; served: PlannedTier } | undefined;
  let lastError: unknown;
  for (const tier of plan.tiers) {
    const target = `${tier.request.model}:${tier.request.version}`;
    if (plan.routeConfig && !breakers.allow(target)) continue;
    try {
      const result = await infer(tier.request);
      breakers.success(target);
      charges.push({
        model: result.model,
        version: result.version,
        usd: requestCost(tier.model.definition.config.price, result.timings, tier.request.rows),
      });
      best = { result, served: tier };
      if (!cascade) break;
      const output = result.outputs.find((tensor) => tensor.name === cascade.output);
      if (!output || confidence(output, tier.model.definition.config.max_batch_size > 0) >= cascade.threshold) break;
    } catch (error) {
      if (countsAgainstTier(error)) breakers.failure(target);
      lastError = error;
      if (!plan.routeConfig || !countsAgainstTier(error)) throw error;
    }
  }
  if (!best) {
    if (lastError) throw lastError;
    throw new ServingError('no_tier_available', `every tier of route "${plan.route}" has its circuit breaker open`);
  }
  return { ...best, escalated: best.served !== plan.tiers[0] };
}

/** Mirrors the request to the shadow tier, off the response path; records whether the top class agreed. */
export function mirrorToShadow(
  plan: InferencePlan,
  outcome: PlanOutcome,
  backend: ServingBackend,
  stats: ShadowStats,
  random: () => number,
  onError: (error: unknown) => void,
): void {
  const percent = plan.routeConfig?.shadow?.percent ?? 0;
  const planned = plan.shadow;
  if (!planned || random() * 100 >= percent) return;
  const shadowRequest = {
    ...planned.request,
    requestId: `${planned.request.requestId}.shadow`,
    priority: Math.max(planned.request.priority, 10),
  };
  backend
    .infer(shadowRequest)
    .then((shadowResult) => stats.record(plan.route, argmaxAgrees(outcome.result, shadowResult)))
    .catch(onError);
}

function argmaxAgrees(a: InferResult, b: InferResult): boolean {
  const first = a.outputs[0];
  const second = b.outputs.find((tensor) => tensor.name === first?.name);
  if (!first || !second) return false;
  const argmax = (values: ArrayLike<number>): number => {
    let index = 0;
    for (let i = 1; i < values.length; i += 1) if (Number(values[i]) > Number(values[index])) index = i;
    return index;
  };
  return argmax(first.data as Float32Array) === argmax(second.data as Float32Array);
}
