import { randomUUID } from 'node:crypto';
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

/** One call's reservation: `pico` held, part of it reserved in the store under `id` when `reserved`. */
export interface BudgetHold {
  readonly pico: number;
  readonly id: string;
  readonly reserved: boolean;
}

/**
 * What one request or task may spend, drawn from its tenant's budget one model call at a
 * time. `pool` is what was reserved up front (a task's estimate); a call takes its
 * reservation from the pool, and from the store (atomically, against the limit) when the
 * pool runs short. Each call is settled as soon as it answers, at its price but never above
 * what it held, so spent + reserved never passes the limit, whatever runs at once, and a task
 * that fails or ends early has already paid for every call that ran.
 * Settling never fails the call: the model has run by then, and a store write that fails is
 * retried in the background by the store (`onError` hears of it).
 */
export class BudgetAccount {
  #pool: number;
  #open = true;
  #chargedPico = 0;

  constructor(
    private readonly store: BudgetStore,
    private readonly limit: BudgetLimit,
    poolPico = 0,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {
    this.#pool = poolPico;
  }

  /** Reserves `estimatePico` for one call; 429 budget_exceeded when the budget cannot cover it (or the account is closed). */
  async hold(estimatePico: number): Promise<BudgetHold> {
    if (!this.#open) throw this.#exceeded('a model call of a task that has ended');
    const fromPool = Math.min(this.#pool, estimatePico);
    // Taken before any await, so concurrent calls of one task never share the same pool.
    this.#pool -= fromPool;
    const more = estimatePico - fromPool;
    const id = randomUUID();
    let reserved = false;
    try {
      reserved = more > 0 && (await this.store.reserve(this.limit.tenant, this.limit.period, this.limit.limitPico, more, id));
    } catch (error) {
      await this.#giveBack(fromPool);
      throw error;
    }
    if (more > 0 && !reserved) {
      await this.#giveBack(fromPool);
      throw this.#exceeded('this model call');
    }
    return { pico: estimatePico, id, reserved };
  }

  /** Settles a call: it is charged its cost up to what it held; returns the charge. */
  async charge(hold: BudgetHold, costPico: number): Promise<number> {
    const charged = Math.max(0, Math.min(costPico, hold.pico));
    this.#chargedPico += charged;
    await this.store.settle(this.limit.tenant, this.limit.period, hold.pico, charged, this.#named(hold)).catch(this.onError);
    return charged;
  }

  /**
   * A call ran nothing: its reservation goes back to the budget at once
   * (an inference's account is never closed, so nothing may wait in its pool).
   */
  async release(hold: BudgetHold): Promise<void> {
    await this.store.release(this.limit.tenant, this.limit.period, hold.pico, this.#named(hold)).catch(this.onError);
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

  /** A refused call's share of the pool: back to the pool, or to the budget once the account is closed. */
  async #giveBack(fromPool: number): Promise<void> {
    if (this.#open) this.#pool += fromPool;
    else if (fromPool > 0) await this.store.release(this.limit.tenant, this.limit.period, fromPool);
  }

  /** A hold with nothing reserved in the store (all from the pool) is settled as a once-write. */
  #named(hold: BudgetHold): string | undefined {
    return hold.reserved ? hold.id : undefined;
  }

  #exceeded(what: string): ServingError {
    return new ServingError('budget_exceeded', `the ${this.limit.describe} for tenant "${this.limit.tenant}" cannot cover ${what}`);
  }
}
