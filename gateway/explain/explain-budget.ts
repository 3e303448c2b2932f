import { ServingError } from '../../workers/protocol/errors.js';
import type { ModelConfig } from '../../workers/repository/model-config.js';
import { BudgetAccount, budgetLimit } from '../budget/budget-account.js';
import { toPico, type BudgetStore } from '../budget/budget-store.js';
import type { RouteConfig, Tenant } from '../policy/policy-config.js';
import type { ExplainOptions } from './explain-options.js';
import { planExplanation, type InputPlan } from './explain-plan.js';
import { EXPLAIN_BATCH_ROWS } from './score-rows.js';

/**
 * What an explanation's batches hold from the budget, summed: each batch of n rows holds the
 * model's per-request price plus n rows at its reserve_compute_ms, as every model call does.
 */
export function explanationEstimateUsd(price: ModelConfig['price'], rowsPerRun: readonly number[], batchRows: number): number {
  let calls = 0;
  let rows = 0;
  for (const count of rowsPerRun) {
    calls += Math.ceil(count / batchRows);
    rows += count;
  }
  return price.usd_per_request * calls + (price.usd_per_compute_second * price.reserve_compute_ms * rows) / 1000;
}

/** Rows in one of the explanation's batches, at most (the pacer may send fewer). */
export function explainBatchRows(config: ModelConfig): number {
  return Math.max(1, Math.min(config.max_batch_size, EXPLAIN_BATCH_ROWS));
}

/** What explaining `rows` rows of a request with these plans reserves. */
export function planEstimateUsd(config: ModelConfig, plans: readonly InputPlan[], rows: number): number {
  const perRow = plans.map((plan) => plan.rowsPerRow);
  return explanationEstimateUsd(config.price, Array.from({ length: rows }, () => perRow).flat(), explainBatchRows(config));
}

/**
 * A task's explanation of one request of a model step (`"explain": true`), by model or route
 * name, before it runs: only models that take images are explained, with the image defaults,
 * the request's one row; for a route, its dearest tier's (whichever answers is explained).
 * An explanation its model cannot make (it is reported, not run) reserves nothing.
 */
export function taskExplainUsd(
  definition: (model: string) => ModelConfig | undefined,
  routes: readonly RouteConfig[],
  name: string,
  version?: string,
): number {
  const route = version === undefined ? routes.find((candidate) => candidate.name === name) : undefined;
  const models = route ? route.tiers.map((tier) => tier.model) : [name];
  const options: ExplainOptions = {};
  return Math.max(
    0,
    ...models.map((model) => {
      const config = definition(model);
      if (!config?.inputs.some((spec) => spec.image)) return 0;
      try {
        return planEstimateUsd(config, planExplanation(config, options, 1).plans, 1);
      } catch {
        return 0;
      }
    }),
  );
}

/** The explanation's reservation: the account its batches draw on, closed (the rest released) when it ends. */
export interface ExplainReservation {
  readonly account?: BudgetAccount;
  close(): Promise<void>;
}

/**
 * Reserves the whole estimate before anything runs (the live call included in the caller's
 * order): a budget that cannot cover it is a 429 budget_exceeded with nothing spent.
 */
export async function reserveExplanation(
  tenant: Tenant,
  store: BudgetStore,
  estimateUsd: number,
  rows: number,
): Promise<ExplainReservation> {
  const limit = budgetLimit(tenant);
  if (!limit) return { close: async () => undefined };
  const estimatePico = toPico(estimateUsd);
  if (estimatePico > 0 && !(await store.reserve(limit.tenant, limit.period, limit.limitPico, estimatePico))) {
    throw new ServingError(
      'budget_exceeded',
      `the ${limit.describe} for tenant "${limit.tenant}" cannot cover this explanation: ${rows} model rows, estimated at ${estimateUsd} USD`,
    );
  }
  const account = new BudgetAccount(store, limit, estimatePico);
  return { account, close: () => account.close() };
}
