import type { InferResult, ValidInferRequest } from '../../workers/protocol/inference.js';
import type { CacheSource } from '../cache/raw-index.js';
import type { CacheSlot, ResponseCache } from '../cache/response-cache.js';
import { confidence } from './choose-tiers.js';
import type { InferencePlan, PlannedTier } from './plan-inference.js';
import type { PlanOutcome } from './run-plan.js';

/** A plan answered from the cache: what served it, as runPlan would have said. */
export interface CachedAnswer {
  readonly result: InferResult;
  readonly served: PlannedTier;
  readonly escalated: boolean;
  /** The entries the answer was read from (every tier walked): what a raw hit of the same body depends on. */
  readonly sources: readonly CacheSource[];
}

/** A plan's lookup: the answer on a hit, and each tier request's slot for keeping what runs on a miss. */
export interface PlanLookup {
  readonly hit?: CachedAnswer;
  readonly slots: ReadonlyMap<ValidInferRequest, CacheSlot>;
}

/**
 * Looks a plan up before anything is held or queued: undefined when none of its tiers'
 * models caches. Tiers are walked as runPlan walks them (a cascade goes on while an answer
 * is not confident enough), but from the cache only, so breakers play no part: a cached
 * answer needs no healthy tier. A single-tier call that misses while the same entry is
 * being run in this process waits for that run (joinRun). One hit or one miss is counted
 * per call, for the model that answered or the first that missed.
 */
export async function lookUpPlan(plan: InferencePlan, cache: ResponseCache, tenant: string): Promise<PlanLookup | undefined> {
  const slots = new Map<ValidInferRequest, CacheSlot>();
  for (const tier of plan.tiers) {
    if (!tier.model.definition.config.response_cache.enabled) continue;
    const slot = await cache.slot(tier.request, tier.model.definition.config, tenant);
    if (slot) slots.set(tier.request, slot);
  }
  if (slots.size === 0) return undefined;
  const cascade = plan.routeConfig?.policy.type === 'cascade' ? plan.routeConfig.policy : undefined;
  let last: CachedAnswer | undefined;
  const sources: CacheSource[] = [];
  for (const tier of plan.tiers) {
    const slot = slots.get(tier.request);
    const read = slot ? await cache.get(slot) : undefined;
    const joined = slot && !read && plan.tiers.length === 1 ? await joinRun(cache, slot, tier.request.deadline) : undefined;
    if (slot && joined) {
      cache.counted(slot.model, true);
      return { hit: { result: joined.result, served: tier, escalated: false, sources: [joined.source] }, slots };
    }
    if (!slot || !read) {
      cache.counted(slot?.model ?? [...slots.values()][0]!.model, false);
      return { slots };
    }
    sources.push(read.source);
    const { result } = read;
    last = { result, served: tier, escalated: tier !== plan.tiers[0], sources };
    const output = cascade ? result.outputs.find((tensor) => tensor.name === cascade.output) : undefined;
    if (!cascade || !output || confidence(output, tier.model.definition.config.max_batch_size > 0) >= cascade.threshold) break;
  }
  // Every tier answered from the cache: the first confident one, or (a cascade none satisfied) the last, as runPlan answers.
  cache.counted(last!.served.request.model, true);
  return { hit: last!, slots };
}

/**
 * A direct call that missed while another call for the same entry runs (in this process) waits
 * for that run, within its own deadline, and takes its answer from the cache: a burst of one
 * input runs the model once. Undefined when nothing runs, or the run kept no answer.
 */
async function joinRun(cache: ResponseCache, slot: CacheSlot, deadline: number): ReturnType<ResponseCache['get']> {
  const run = cache.runs.running(slot.key);
  if (!run) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
  });
  await Promise.race([run, expired]);
  clearTimeout(timer);
  return cache.get(slot);
}

/** The tiers' model calls, each whole answer kept under its request's slot; calls for the same entry meanwhile wait for it. */
export function keepingAnswers(infer: (request: ValidInferRequest) => Promise<InferResult>, lookup: PlanLookup, cache: ResponseCache) {
  return async (request: ValidInferRequest): Promise<InferResult> => {
    const slot = lookup.slots.get(request);
    const end = slot ? cache.runs.start(slot.key) : undefined;
    try {
      const result = await infer(request);
      end?.(slot ? cache.put(slot, result) : undefined);
      return result;
    } catch (error) {
      end?.();
      throw error;
    }
  };
}

/**
 * What the answer says about the cache: the outcome's hit or miss only when the model that answered
 * caches. A plan is looked up when any tier's model caches, but a model without the cache has none
 * to miss (docs/response-cache.md: it sends no X-Cache), whichever tier of the route it is.
 */
export function answeredCache(outcome: Pick<PlanOutcome, 'cache' | 'served'>): 'hit' | 'miss' | undefined {
  if (outcome.cache === 'miss' && !outcome.served.model.definition.config.response_cache.enabled) return undefined;
  return outcome.cache;
}
