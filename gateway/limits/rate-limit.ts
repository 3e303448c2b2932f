import type { FastifyInstance, FastifyReply } from 'fastify';
import { RateLimitedError, type RateLimitState, type TenantRateLimiter } from './tenant-rate-limit.js';

function setHeaders(reply: FastifyReply, state: RateLimitState): void {
  reply.header('x-ratelimit-limit', String(state.limit));
  reply.header('x-ratelimit-remaining', String(state.remaining));
  reply.header('x-ratelimit-reset', String(state.resetSeconds));
}

/**
 * Per-tenant limits from the policy on every HTTP route: the same TenantRateLimiter the gRPC
 * front end calls. Registered after authentication, so the tenant is known; health checks,
 * which have no tenant, are not counted.
 */
export function installRateLimit(app: FastifyInstance, limiter: TenantRateLimiter): void {
  app.addHook('onRequest', async (request, reply) => {
    try {
      const state = await limiter.take(request.tenant);
      if (state) setHeaders(reply, state);
    } catch (error) {
      if (error instanceof RateLimitedError) {
        setHeaders(reply, error.state);
        reply.header('retry-after', String(error.state.resetSeconds));
      }
      throw error;
    }
  });
}
