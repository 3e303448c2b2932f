import { ServingError, isServingError } from '../../workers/protocol/errors.js';
import type { InferResult } from '../../workers/protocol/inference.js';
import { requestCost } from '../metadata/request-cost.js';
import type { ServingBackend } from '../serving-backend.js';
import type { CircuitBreakers } from './circuit-breaker.js';
import { confidence } from './choose-tiers.js';
import type { InferencePlan, PlannedTier } from './plan-inference.js';
import type { ShadowStats } from './shadow-stats.js';

export interface PlanOutcome {
  readonly result: InferResult;
  readonly served: PlannedTier;
  /** A cascade ran a later tier because an earlier one was not confident enough. */
  readonly escalated: boolean;
  /** Everything that ran for this request, all tiers included. */
  readonly costUsd: number;
  /** Each tier that ran: for the ledger. */
  readonly charges: readonly { model: string; version: string; usd: number }[];
}

/** Failures that say the tier is unhealthy (not the caller's fault). */
function countsAgainstTier(error: unknown): boolean {
  return !isServingError(error) || error.status >= 500;
}

/**
 * Runs a plan: the first tier whose breaker allows it; on a tier failure, the next.
 * A cascade keeps going while the answer's confidence is under the threshold.
 */
export async function runPlan(plan: InferencePlan, backend: ServingBackend, breakers: CircuitBreakers): Promise<PlanOutcome> {
  const cascade = plan.routeConfig?.policy.type === 'cascade' ? plan.routeConfig.policy : undefined;
  const charges: { model: string; version: string; usd: number }[] = [];
  let best: { result: InferResult; served: PlannedTier } | undefined;
  let lastError: unknown;
  for (const tier of plan.tiers) {
    const target = `${tier.request.model}:${tier.request.version}`;
    if (plan.routeConfig && !breakers.allow(target)) continue;
    try {
      const result = await backend.infer(tier.request);
      breakers.success(target);
      charges.push({ model: result.model, version: result.version, usd: requestCost(tier.model.definition.config.price, result.timings, tier.request.rows) });
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
  return {
    ...best,
    escalated: best.served !== plan.tiers[0],
    costUsd: charges.reduce((sum, charge) => sum + charge.usd, 0),
    charges,
  };
}

/** Mirrors the request to the shadow tier, off the response path; records whether the top class agreed. */
export function mirrorToShadow(plan: InferencePlan, outcome: PlanOutcome, backend: ServingBackend, stats: ShadowStats, random: () => number, onError: (error: unknown) => void): void {
  const percent = plan.routeConfig?.shadow?.percent ?? 0;
  const planned = plan.shadow;
  if (!planned || random() * 100 >= percent) return;
  const shadowRequest = { ...planned.request, requestId: `${planned.request.requestId}.shadow`, priority: Math.max(planned.request.priority, 10) };
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
