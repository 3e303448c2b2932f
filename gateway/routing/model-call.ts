import type { ValidInferRequest } from '../../workers/protocol/inference.js';
import type { BudgetAccount, BudgetHold } from '../budget/budget-account.js';
import { PICO, toPico } from '../budget/budget-store.js';
import type { ResponseCache } from '../cache/response-cache.js';
import type { SpendLedger } from '../ledger/spend-ledger.js';
import type { RouteConfig } from '../policy/policy-config.js';
import type { ParsedInferRequest } from '../protocol/parse-infer-request.js';
import type { ServingBackend } from '../serving-backend.js';
import { keepingAnswers, lookUpPlan } from './cached-plan.js';
import type { CircuitBreakers } from './circuit-breaker.js';
import { estimateCostUsd, planInference, type InferencePlan, type PlanContext } from './plan-inference.js';
import { runPlan, type PlanOutcome, type TierCharge } from './run-plan.js';
import { inferWaitingForCapacity } from './wait-for-capacity.js';
import { traceStep } from '../../workers/tracing/trace-step.js';
import type { Span } from '../../workers/tracing/tracer.js';

export type { PlanOutcome } from './run-plan.js';

/** The parts every model call goes through, whoever makes it (the infer route, a model step, a transform). */
export interface ModelCallServices {
  readonly backend: ServingBackend;
  readonly routes: () => readonly RouteConfig[];
  readonly breakers: CircuitBreakers;
  readonly ledger: SpendLedger;
  readonly onLedgerError: (error: unknown) => void;
  /** Answers kept for repeated inputs, for the models whose config enables it. */
  readonly cache?: ResponseCache;
}

/** Who the call is for and how it may wait. */
export interface ModelCallPayer {
  readonly tenant: string;
  /** The tenant's fair-share weight (policy), carried by its requests to the batchers. */
  readonly weight?: number;
  /** Absent for a tenant with no budget: the call is priced and recorded, never refused. */
  readonly budget?: BudgetAccount;
  /** Summed as calls are charged: what a task spent, whether it ends well or not. */
  readonly tally?: { usd: number };
  /** Asynchronous tasks wait out "not now" refusals until the deadline (see wait-for-capacity.ts). */
  readonly waitForCapacity?: boolean;
  /** The traced call this one belongs to: its budget hold becomes a step of it. */
  readonly span?: Span;
  /** Aborted when nobody waits for the answer any more: the call leaves its queue or its job (it is then not charged). */
  readonly signal?: AbortSignal;
}

/**
 * One model call, after its plan (resolve, route, tiers, validation): answered from the
 * response cache when its models cache and the answer is there (nothing held, queued, run
 * or charged); else its estimate is held from the budget (429 budget_exceeded when it does
 * not fit), the plan runs (breakers, fallbacks, cascade), each tier's whole answer is kept
 * for next time, and what ran is charged to the budget and the spend ledger, also when the
 * call fails after some tier has answered.
 */
export async function runModelCall(plan: InferencePlan, services: ModelCallServices, payer: ModelCallPayer): Promise<PlanOutcome> {
  const cache = services.cache;
  const lookup = cache ? await lookUpPlan(plan, cache, payer.tenant) : undefined;
  if (lookup?.hit) return { ...lookup.hit, charges: [], costUsd: 0, cache: 'hit' };
  const { budget } = payer;
  const held = budget ? await traceStep(payer.span, 'budget', () => budget.hold(toPico(estimateCostUsd(plan)))) : undefined;
  const ran: TierCharge[] = [];
  let outcome: Omit<PlanOutcome, 'costUsd' | 'charges'>;
  const stamp = { tenant: payer.tenant, ...(payer.weight !== undefined ? { weight: payer.weight } : {}) };
  // Stamped inside: the cache finds a tier's slot by the planned request itself.
  const infer = (request: ValidInferRequest) =>
    inferWaitingForCapacity(services.backend, { ...request, ...stamp }, payer.waitForCapacity === true, payer.signal);
  try {
    outcome = await runPlan(plan, lookup && cache ? keepingAnswers(infer, lookup, cache) : infer, services.breakers, ran);
  } catch (error) {
    await settle(ran, held, services, payer);
    throw error;
  }
  const charges = await settle(ran, held, services, payer);
  return {
    ...outcome,
    charges,
    costUsd: charges.reduce((sum, charge) => sum + charge.usd, 0),
    ...(lookup ? { cache: 'miss' as const } : {}),
  };
}

/** Plans and runs one call by model or route name: what pipeline steps and transforms send. */
export async function callModel(
  name: string,
  version: string | undefined,
  parsed: ParsedInferRequest,
  context: Omit<PlanContext, 'backend' | 'routes'>,
  services: ModelCallServices,
  payer: ModelCallPayer,
): Promise<PlanOutcome> {
  const plan = planInference(name, version, parsed, { ...context, backend: services.backend, routes: services.routes() });
  return runModelCall(plan, services, payer);
}

/**
 * Charges what ran: at its price, and for a budgeted tenant never more than the call held
 * (the tiers' charges scaled down alike), so the budget cannot be overrun by a call slower
 * than its model's reserve_compute_ms. Nothing ran: the hold goes back to the budget.
 * Never throws: once a model has run its answer stands, and a budget or ledger write that
 * fails is retried in the background by its store.
 */
async function settle(
  ran: readonly TierCharge[],
  held: BudgetHold | undefined,
  services: ModelCallServices,
  payer: ModelCallPayer,
): Promise<TierCharge[]> {
  const costPico = ran.reduce((sum, charge) => sum + toPico(charge.usd), 0);
  let scale = 1;
  if (payer.budget && held) {
    if (ran.length === 0) await payer.budget.release(held);
    else scale = costPico > 0 ? (await payer.budget.charge(held, costPico)) / costPico : 1;
  }
  return ran.map((charge) => {
    const pico = Math.round(toPico(charge.usd) * scale);
    services.ledger.record(payer.tenant, charge.model, charge.version, pico).catch(services.onLedgerError);
    if (payer.tally) payer.tally.usd += pico / PICO;
    return { ...charge, usd: pico / PICO };
  });
}
