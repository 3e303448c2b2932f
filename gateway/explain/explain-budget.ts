import { ServingError } from '../../workers/protocol/errors.js';
import type { ModelConfig } from '../../workers/repository/model-config.js';
import { BudgetAccount, budgetLimit } from '../budget/budget-account.js';
import { toPico, type BudgetStore } from '../budget/budget-store.js';
import type { Tenant } from '../policy/policy-config.js';

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
