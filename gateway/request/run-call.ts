import { BudgetAccount, budgetLimit } from '../budget/budget-account.js';
import type { Tenant } from '../policy/policy-config.js';
import type { InferencePlan } from '../routing/plan-inference.js';
import { runModelCall, type PlanOutcome } from '../routing/model-call.js';
import { answeredCache } from '../routing/cached-plan.js';
import { mirrorToShadow } from '../routing/run-plan.js';
import { modelCallServices } from '../wiring/policy-services.js';
import { traceStep } from '../../workers/tracing/trace-step.js';
import type { InferCall } from './infer-call.js';
import type { PipelineDeps } from './pipeline-deps.js';

/**
 * Stage: budget and run as the one model call (routing/model-call.ts: the estimate reserved
 * against the tenant's budget, breakers and cascade, cost settled and charged to the ledger),
 * then a shadow mirrored; what served it is noted for the audit record.
 */
export async function runCall(call: InferCall, tenant: Tenant, plan: InferencePlan, deps: PipelineDeps): Promise<PlanOutcome> {
  const { backend, services } = deps;
  const limit = budgetLimit(tenant);
  const signal = deps.cancelAbandoned ? call.cancel : undefined;
  const onBudgetError = (error: unknown): void => call.log.warn({ err: error }, 'budget write failed; retried in the background');
  const payer = {
    tenant: tenant.name,
    weight: tenant.weight,
    ...(limit ? { budget: new BudgetAccount(services.budgets, limit, 0, onBudgetError) } : {}),
    ...(signal ? { signal } : {}),
  };
  const onLedgerError = (error: unknown): void => call.log.error({ err: error }, 'ledger write failed');
  const outcome = await traceStep(call.trace.span, 'model call', (span) =>
    runModelCall(
      plan,
      modelCallServices(services, backend, onLedgerError),
      span ? { ...payer, span: span.setAttribute('switchyard.route', plan.route) } : payer,
    ),
  );
  // A cached answer ran nothing: there is no serving run for a shadow to be compared with.
  if (outcome.cache !== 'hit')
    mirrorToShadow(plan, outcome, backend, services.shadow, Math.random, (error) =>
      call.log.warn({ err: error, route: plan.route }, 'shadow request failed'),
    );
  const { result, served } = outcome;
  Object.assign(call.audit, {
    model: result.model,
    version: result.version,
    tier: served.tier,
    escalated: outcome.escalated,
    costUsd: outcome.costUsd,
    queueMs: result.timings.queueMs,
    computeMs: result.timings.computeMs,
    ...(answeredCache(outcome) !== undefined ? { cached: outcome.cache === 'hit' } : {}),
  });
  return outcome;
}
