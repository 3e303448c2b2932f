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
  app.addHook('onRequest', (request, reply, done) => {
    // Without a limit nothing is counted: answered now, not through a promise and a microtask.
    if (request.tenant?.rate_limit === undefined) return done();
    limiter.take(request.tenant).then(
      (state) => {
        if (state) setHeaders(reply, state);
        done();
      },
      (error: unknown) => {
        if (error instanceof RateLimitedError) {
          setHeaders(reply, error.state);
          reply.header('retry-after', String(error.state.resetSeconds));
        }
        done(error as Error);
      },
    );
  });
}
