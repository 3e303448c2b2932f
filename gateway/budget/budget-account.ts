import { ServingError } from '../../workers/protocol/errors.js';
import type { Tenant } from '../policy/policy-config.js';
import { periodId, toPico, type BudgetStore } from './budget-store.js';

export interface BudgetLimit {
  readonly tenant: string;
  readonly period: string;
  readonly limitPico: number;
  /** For the error message. */
  readonly describe: string;
}

/** The limit a tenant's budget sets for the current period; undefined for a tenant without a budget. */
export function budgetLimit(tenant: Tenant, at = new Date()): BudgetLimit | undefined {
  const budget = tenant.budget;
  if (!budget) return undefined;
  return {
    tenant: tenant.name,
    period: periodId(budget.period, at),
    limitPico: toPico(budget.usd),
    describe: `${budget.period} budget of ${budget.usd} USD`,
  };
}

/**
 * What one request or task may spend, drawn from its tenant's budget one model call at a
 * time. `pool` is what was reserved up front (a task's estimate); a call takes its
 * reservation from the pool, and from the store (atomically, against the limit) when the
 * pool runs short. Each call is settled as soon as it answers, at its price but never above
 * what it held, so spent + reserved never passes the limit, whatever runs at once, and a task
 * that fails or ends early has already paid for every call that ran.
 */
export class BudgetAccount {
  #pool: number;
  #open = true;
  #chargedPico = 0;

  constructor(
    private readonly store: BudgetStore,
    private readonly limit: BudgetLimit,
    poolPico = 0,
  ) {
    this.#pool = poolPico;
  }

  /** Reserves `estimatePico` for one call; 429 budget_exceeded when the budget cannot cover it (or the account is closed). */
  async hold(estimatePico: number): Promise<number> {
    if (!this.#open) throw this.#exceeded('a model call of a task that has ended');
    const fromPool = Math.min(this.#pool, estimatePico);
    // Taken before any await, so concurrent calls of one task never share the same pool.
    this.#pool -= fromPool;
    const more = estimatePico - fromPool;
    if (more > 0 && !(await this.store.reserve(this.limit.tenant, this.limit.period, this.limit.limitPico, more))) {
      if (this.#open) this.#pool += fromPool;
      else await this.store.release(this.limit.tenant, this.limit.period, fromPool);
      throw this.#exceeded('this model call');
    }
    return estimatePico;
  }

  /** Settles a call that held `heldPico`: it is charged its cost up to what it held; returns the charge. */
  async charge(heldPico: number, costPico: number): Promise<number> {
    const charged = Math.max(0, Math.min(costPico, heldPico));
    this.#chargedPico += charged;
    await this.store.settle(this.limit.tenant, this.limit.period, heldPico, charged);
    return charged;
  }

  /**
   * A call that held `heldPico` ran nothing: its reservation goes back to the budget at once
   * (an inference's account is never closed, so nothing may wait in its pool).
   */
  async release(heldPico: number): Promise<void> {
    await this.store.release(this.limit.tenant, this.limit.period, heldPico);
  }

  /** Refuses further calls and releases what the pool still holds; calls already running settle as they answer. */
  async close(): Promise<void> {
    this.#open = false;
    const rest = this.#pool;
    this.#pool = 0;
    if (rest > 0) await this.store.release(this.limit.tenant, this.limit.period, rest);
  }

  get chargedPico(): number {
    return this.#chargedPico;
  }

  #exceeded(what: string): ServingError {
    return new ServingError('budget_exceeded', `the ${this.limit.describe} for tenant "${this.limit.tenant}" cannot cover ${what}`);
  }
}
