import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { redisKeys, type RedisKeys } from '../../workers/queue/redis-keys.js';

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
 */
export interface BudgetStore {
  reserve(tenant: string, period: string, limitPico: number, estimatePico: number): Promise<boolean>;
  settle(tenant: string, period: string, estimatePico: number, actualPico: number): Promise<void>;
  release(tenant: string, period: string, estimatePico: number): Promise<void>;
  usage(tenant: string, period: string): Promise<{ spentPico: number; reservedPico: number }>;
}

export class MemoryBudgetStore implements BudgetStore {
  readonly #accounts = new Map<string, { spent: number; reserved: number }>();

  async reserve(tenant: string, period: string, limitPico: number, estimatePico: number): Promise<boolean> {
    const account = this.#account(tenant, period);
    if (account.spent + account.reserved + estimatePico > limitPico) return false;
    account.reserved += estimatePico;
    return true;
  }

  async settle(tenant: string, period: string, estimatePico: number, actualPico: number): Promise<void> {
    const account = this.#account(tenant, period);
    account.reserved = Math.max(0, account.reserved - estimatePico);
    account.spent += actualPico;
  }

  async release(tenant: string, period: string, estimatePico: number): Promise<void> {
    const account = this.#account(tenant, period);
    account.reserved = Math.max(0, account.reserved - estimatePico);
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

const RESERVE = `
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
if spent + reserved + tonumber(ARGV[2]) > tonumber(ARGV[1]) then return 0 end
redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

const SETTLE = `
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
redis.call('HSET', KEYS[1], 'reserved', math.max(0, reserved - tonumber(ARGV[1])))
if tonumber(ARGV[2]) > 0 then redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2]) end
return 1`;

/** Budget accounts outlive their period by a margin, then expire. */
const ACCOUNT_TTL_MS = 40 * 24 * 3600 * 1000;

export class RedisBudgetStore implements BudgetStore {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#keys = redisKeys(prefix);
  }

  async reserve(tenant: string, period: string, limitPico: number, estimatePico: number): Promise<boolean> {
    const ttl = period === 'total' ? 100 * 365 * 24 * 3600 * 1000 : ACCOUNT_TTL_MS;
    return (await this.#redis.eval(RESERVE, 1, this.#key(tenant, period), String(limitPico), String(estimatePico), String(ttl))) === 1;
  }

  async settle(tenant: string, period: string, estimatePico: number, actualPico: number): Promise<void> {
    await this.#redis.eval(SETTLE, 1, this.#key(tenant, period), String(estimatePico), String(actualPico));
  }

  async release(tenant: string, period: string, estimatePico: number): Promise<void> {
    await this.settle(tenant, period, estimatePico, 0);
  }

  async usage(tenant: string, period: string): Promise<{ spentPico: number; reservedPico: number }> {
    const [spent, reserved] = await this.#redis.hmget(this.#key(tenant, period), 'spent', 'reserved');
    return { spentPico: Number(spent ?? 0), reservedPico: Number(reserved ?? 0) };
  }

  #key(tenant: string, period: string): string {
    return this.#keys.budget(tenant, period);
  }
}
