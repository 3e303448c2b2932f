import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import type { PolicyServices } from '../wiring/policy-services.js';
import { rateLimitId } from '../../workers/queue/redis-keys.js';

/**
 * Per-tenant limits from the policy, with @fastify/rate-limit. In distributed mode its
 * Redis store makes the limit one limit across all gateways. Runs after authentication
 * (its hook is route-level, so it follows the app-level auth hook). A Redis outage
 * does not turn into errors here: queueing then fails with backend_unavailable.
 */
export async function installRateLimit(app: FastifyInstance, services: PolicyServices): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    // Tenants without a limit (and health checks, which have no tenant) are not counted.
    allowList: (request) => request.tenant?.rate_limit === undefined,
    // The tenant's hash tag: in a Redis Cluster its limit sits beside its budget and idempotency keys.
    keyGenerator: (request) => rateLimitId(request.tenant?.name ?? 'anonymous'),
    max: (request) => request.tenant?.rate_limit?.max ?? Number.MAX_SAFE_INTEGER,
    timeWindow: (request) => request.tenant?.rate_limit?.window_ms ?? 1000,
    skipOnError: true,
    ...(services.rateLimit ? { redis: services.rateLimit.redis, nameSpace: services.rateLimit.nameSpace } : {}),
    errorResponseBuilder: (_request, context) =>
      new ServingError('rate_limited', `rate limit of ${context.max} requests per ${context.after} exceeded; retry in ${Math.ceil(context.ttl / 1000)} s`),
  });
}
