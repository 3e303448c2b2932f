import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { ServingError } from '../../workers/protocol/errors.js';
import type { Tenant } from '../policy/policy-config.js';

/** Gives a held slot back; calling it again does nothing. */
export type ReleaseSlot = () => void;

/**
 * A tenant's requests in flight, against its `max_concurrency`. One store per deployment:
 * in memory for embedded mode, in Redis for distributed mode so every gateway counts one limit.
 */
export interface ConcurrencyStore {
  /** True when a slot was taken for `id`. */
  take(tenant: string, id: string, max: number): Promise<boolean>;
  give(tenant: string, id: string): Promise<void>;
}

export class MemoryConcurrencyStore implements ConcurrencyStore {
  readonly #held = new Map<string, Set<string>>();

  async take(tenant: string, id: string, max: number): Promise<boolean> {
    let held = this.#held.get(tenant);
    if (!held) this.#held.set(tenant, (held = new Set()));
    if (held.size >= max) return false;
    held.add(id);
    return true;
  }

  async give(tenant: string, id: string): Promise<void> {
    const held = this.#held.get(tenant);
    held?.delete(id);
    if (held?.size === 0) this.#held.delete(tenant);
  }
}

/**
 * Redis: a sorted set of slots per tenant, scored by when each lease ends, so a gateway that
 * dies holding slots loses them after LEASE_MS instead of for ever. A request running longer
 * than the lease lets the tenant go over its limit by that request until it ends.
 */
export const LEASE_MS = 15 * 60_000;

const TAKE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

export class RedisConcurrencyStore implements ConcurrencyStore {
  readonly #redis: RedisClient;
  readonly #key: (tenant: string) => string;
  readonly #leaseMs: number;

  constructor(redis: RedisClient, key: (tenant: string) => string, leaseMs = LEASE_MS) {
    this.#redis = redis;
    this.#key = key;
    this.#leaseMs = leaseMs;
  }

  async take(tenant: string, id: string, max: number): Promise<boolean> {
    const now = Date.now();
    const lease = this.#leaseMs;
    const taken = await this.#redis.eval(TAKE, 1, this.#key(tenant), String(now), String(now + lease), String(max), id, String(lease));
    return taken === 1;
  }

  async give(tenant: string, id: string): Promise<void> {
    await this.#redis.zrem(this.#key(tenant), id);
  }
}

/**
 * Takes a slot for one call of a tenant with `max_concurrency` (429 concurrency_limited when
 * none is free); the release runs once, whichever way the call ends. A store outage lets the
 * call through, as the rate limit does: queueing then fails with backend_unavailable.
 */
export async function holdSlot(
  store: ConcurrencyStore,
  tenant: Pick<Tenant, 'name' | 'max_concurrency'>,
  id: string,
  onError: (error: unknown) => void,
): Promise<ReleaseSlot> {
  const max = tenant.max_concurrency;
  if (max === undefined) return () => undefined;
  let taken: boolean;
  try {
    taken = await store.take(tenant.name, id, max);
  } catch (error) {
    onError(error);
    return () => undefined;
  }
  if (!taken)
    throw new ServingError('concurrency_limited', `tenant "${tenant.name}" already has ${max} requests in flight (max_concurrency)`);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    store.give(tenant.name, id).catch(onError);
  };
}
