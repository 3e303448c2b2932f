import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { redisKeys, type RedisKeys } from '../../workers/queue/redis-keys.js';
import { retryLater } from '../support/retry-later.js';

/** Money is counted in whole picodollars, so sums are exact. */
export const PICO = 1e12;
export const toPico = (usd: number): number => Math.round(usd * PICO);

export type BudgetPeriod = 'day' | 'month' | 'total';

/** The id of the period `at` falls in (UTC). */
export function periodId(period: BudgetPeriod, at = new Date()): string {
  const iso = at.toISOString();
  return period === 'day' ? iso.slice(0, 10) : period === 'month' ? iso.slice(0, 7) : 'total';
}

/**
 * Budgets enforced atomically: admission reserves the estimated cost only if spent +
 * reserved + estimate fits the limit; completion settles the actual cost; failure
 * releases the reservation. Check and charge are one step, so concurrent requests
 * cannot overrun a budget the way check-then-charge-later does.
 *
 * `hold` names one reservation: reserve(..., hold) makes it, and a settle or release with
 * the same `hold` applies only while it is outstanding, so repeating it (a retry, or a
 * command the Redis client sends again after a reconnect) never counts twice. A settle or
 * release without `hold` (a call paid from a task's pool, a pool given back) is applied
 * once all the same. A write that fails is retried in the background (support/retry-later.ts)
 * and the error rethrown; a reserve that fails is undone in the background if it did land.
 */
export interface BudgetStore {
  reserve(tenant: string, period: string, limitPico: number, estimatePico: number, hold?: string): Promise<boolean>;
  settle(tenant: string, period: string, estimatePico: number, actualPico: number, hold?: string): Promise<void>;
  release(tenant: string, period: string, estimatePico: number, hold?: string): Promise<void>;
  usage(tenant: string, period: string): Promise<{ spentPico: number; reservedPico: number }>;
}

export class MemoryBudgetStore implements BudgetStore {
  readonly #accounts = new Map<string, { spent: number; reserved: number }>();
  readonly #holds = new Set<string>();

  async reserve(tenant: string, period: string, limitPico: number, estimatePico: number, hold?: string): Promise<boolean> {
    if (hold !== undefined && this.#holds.has(hold)) return true;
    const account = this.#account(tenant, period);
    if (account.spent + account.reserved + estimatePico > limitPico) return false;
    account.reserved += estimatePico;
    if (hold !== undefined) this.#holds.add(hold);
    return true;
  }

  async settle(tenant: string, period: string, estimatePico: number, actualPico: number, hold?: string): Promise<void> {
    if (hold !== undefined && !this.#holds.delete(hold)) return;
    const account = this.#account(tenant, period);
    account.reserved = Math.max(0, account.reserved - estimatePico);
    account.spent += actualPico;
  }

  async release(tenant: string, period: string, estimatePico: number, hold?: string): Promise<void> {
    await this.settle(tenant, period, estimatePico, 0, hold);
  }

  async usage(tenant: string, period: string): Promise<{ spentPico: number; reservedPico: number }> {
    const account = this.#account(tenant, period);
    return { spentPico: account.spent, reservedPico: account.reserved };
  }

  #account(tenant: string, period: string): { spent: number; reserved: number } {
    const key = `${tenant}\u0000${period}`;
    let account = this.#accounts.get(key);
    if (!account) {
      account = { spent: 0, reserved: 0 };
      this.#accounts.set(key, account);
    }
    return account;
  }
}

/** KEYS[2] marks the reservation as outstanding; one already made (sent again) is not made twice. */
const RESERVE = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
if spent + reserved + tonumber(ARGV[2]) > tonumber(ARGV[1]) then return 0 end
redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
return 1`;

/** 'held': applies only while the reservation's mark is there (and takes it); 'once': marks the write done. */
const SETTLE = `
if ARGV[3] == 'held' then
  if redis.call('DEL', KEYS[2]) == 0 then return 0 end
elseif not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[4]) then return 0 end
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
redis.call('HSET', KEYS[1], 'reserved', math.max(0, reserved - tonumber(ARGV[1])))
if tonumber(ARGV[2]) > 0 then redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2]) end
return 1`;

/** Budget accounts outlive their period by a margin, then expire. */
const ACCOUNT_TTL_MS = 40 * 24 * 3600 * 1000;
/** A reservation's mark outlives any call (tasks and requests end within 10 minutes). */
const HOLD_MARK_TTL_MS = 24 * 3600 * 1000;
/** A once-write's mark outlives its retries (support/retry-later.ts: about 90 s). */
const ONCE_MARK_TTL_MS = 10 * 60 * 1000;

export class RedisBudgetStore implements BudgetStore {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#keys = redisKeys(prefix);
  }

  async reserve(tenant: string, period: string, limitPico: number, estimatePico: number, named?: string): Promise<boolean> {
    const ttl = period === 'total' ? 100 * 365 * 24 * 3600 * 1000 : ACCOUNT_TTL_MS;
    // An unnamed reservation (a task's pool) is marked only for as long as an undo may need it.
    const hold = named ?? randomUUID();
    const keys = [this.#key(tenant, period), this.#mark(tenant, period, hold)];
    try {
      const args = [
        String(limitPico),
        String(estimatePico),
        String(ttl),
        String(named === undefined ? ONCE_MARK_TTL_MS : HOLD_MARK_TTL_MS),
      ];
      return (await this.#redis.eval(RESERVE, 2, ...keys, ...args)) === 1;
    } catch (error) {
      // It may have landed with its answer lost: given back if so (the mark says whether).
      retryLater(() => this.#settle(tenant, period, estimatePico, 0, 'held', hold));
      throw error;
    }
  }

  async settle(tenant: string, period: string, estimatePico: number, actualPico: number, hold?: string): Promise<void> {
    const [mode, id] = hold === undefined ? (['once', randomUUID()] as const) : (['held', hold] as const);
    try {
      await this.#settle(tenant, period, estimatePico, actualPico, mode, id);
    } catch (error) {
      retryLater(() => this.#settle(tenant, period, estimatePico, actualPico, mode, id));
      throw error;
    }
  }

  async release(tenant: string, period: string, estimatePico: number, hold?: string): Promise<void> {
    await this.settle(tenant, period, estimatePico, 0, hold);
  }

  async usage(tenant: string, period: string): Promise<{ spentPico: number; reservedPico: number }> {
    const [spent, reserved] = await this.#redis.hmget(this.#key(tenant, period), 'spent', 'reserved');
    return { spentPico: Number(spent ?? 0), reservedPico: Number(reserved ?? 0) };
  }

  #settle(tenant: string, period: string, estimatePico: number, actualPico: number, mode: 'held' | 'once', id: string): Promise<unknown> {
    const keys = [this.#key(tenant, period), this.#mark(tenant, period, id)];
    return this.#redis.eval(SETTLE, 2, ...keys, String(estimatePico), String(actualPico), mode, String(ONCE_MARK_TTL_MS));
  }

  #key(tenant: string, period: string): string {
    return this.#keys.budget(tenant, period);
  }

  /** Beside the account (one hash slot in a Cluster). */
  #mark(tenant: string, period: string, id: string): string {
    return this.#keys.budgetMark(tenant, period, id);
  }
}
