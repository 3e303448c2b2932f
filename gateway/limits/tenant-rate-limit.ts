import type { Redis } from 'ioredis';
import LocalStore from '@fastify/rate-limit/store/LocalStore.js';
import RedisStore from '@fastify/rate-limit/store/RedisStore.js';
import { ServingError } from '../../workers/protocol/errors.js';
import type { RedisClient } from '../../workers/queue/redis-connection.js';
import type { Tenant } from '../policy/policy-config.js';
import { rateLimitId } from '../../workers/queue/redis-keys.js';

/** Where a tenant stands in its window, for the x-ratelimit-* headers (or gRPC metadata). */
export interface RateLimitState {
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until the window resets. */
  readonly resetSeconds: number;
}

/** A refusal that still says where the tenant stands (429 answers carry the headers too). */
export class RateLimitedError extends ServingError {
  constructor(readonly state: RateLimitState) {
    super('rate_limited', `rate limit of ${state.limit} requests per window exceeded; retry in ${state.resetSeconds} s`);
  }
}

/**
 * Per-tenant fixed windows, counted by @fastify/rate-limit's stores (its Redis store in
 * distributed mode, so every gateway counts one limit). Both front ends call `take` once
 * per call, so an HTTP request and a gRPC call draw on the same window.
 */
export class TenantRateLimiter {
  readonly #store: LocalStore | RedisStore;
  readonly #storeReachable: () => boolean;

  /**
   * `services.rateLimit`: the Redis store's connection and key space (distributed mode); absent, the in-memory store.
   * `storeReachable`: false while Redis does not answer, when nothing is counted rather than wait on it.
   */
  constructor(
    services: { readonly rateLimit?: { readonly redis: RedisClient; readonly nameSpace: string } },
    storeReachable: () => boolean = () => true,
  ) {
    this.#storeReachable = storeReachable;
    // The store only defines and runs a script, which a Cluster client does as a single Redis does.
    const redis = services.rateLimit?.redis as Redis | undefined;
    this.#store = redis ? new RedisStore(false, false, redis, services.rateLimit!.nameSpace) : new LocalStore(false, false);
  }

  /**
   * Counts one call; undefined for tenants without a limit. A store outage lets the call
   * through: queueing then fails with backend_unavailable.
   */
  take(tenant: Tenant | undefined): Promise<RateLimitState | undefined> {
    const limit = tenant?.rate_limit;
    if (!tenant || !limit || !this.#storeReachable()) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      this.#store.incr(
        // The tenant's hash tag: in a Redis Cluster its limit sits beside its budget and idempotency keys.
        rateLimitId(tenant.name),
        (error, result) => {
          if (error || !result) return resolve(undefined);
          const state = {
            limit: limit.max,
            remaining: Math.max(0, limit.max - result.current),
            resetSeconds: Math.ceil(result.ttl / 1000),
          };
          if (result.current > limit.max) reject(new RateLimitedError(state));
          else resolve(state);
        },
        limit.window_ms,
        limit.max,
      );
    });
  }
}
