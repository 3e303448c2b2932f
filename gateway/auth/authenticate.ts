import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import { hashKey, type Policy, type Tenant } from '../policy/policy-config.js';
import { AuthFailures } from './auth-failures.js';
import { foreignRequest } from './open-mode-guard.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set for every route but health and the console page. */
    tenant: Tenant | undefined;
  }
}

/** With no tenants configured (loopback only), every caller is this local admin. */
export const OPEN_TENANT: Tenant = { name: 'local', role: 'admin', plan: 'default', models: ['*'], keyHashes: [] };

/**
 * Health probes and the console page itself (static: its data comes from the admin API with
 * a key), by method and route pattern: nothing else is reached without a key.
 */
const AUTH_FREE = new Set(['/v2/health/live', '/v2/health/ready', '/console'].flatMap((url) => [`GET ${url}`, `HEAD ${url}`]));

export interface AuthFailureLimit {
  /** Failed authentications one client address may make per window before it gets 429. */
  readonly limit: number;
  readonly windowMs: number;
}

/** Path only, at most 200 characters: an error never echoes a long or query-carrying URL back. */
function shortPath(url: string): string {
  const path = url.split('?', 1)[0]!;
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

/**
 * `Authorization: Bearer <key>` → tenant, in onRequest: before any byte of the body is read,
 * so an unauthenticated body is refused unread. Unknown paths are answered here too, so no
 * body is parsed for them. In open mode (no tenants) requests not addressed to the loopback
 * listener are refused instead.
 */
export function installAuthentication(app: FastifyInstance, policy: Policy, failureLimit: AuthFailureLimit): void {
  const byHash = new Map<string, Tenant>();
  for (const tenant of policy.tenants) for (const hash of tenant.keyHashes) byHash.set(hash, tenant);
  const open = policy.tenants.length === 0;
  const failures = new AuthFailures(failureLimit.limit, failureLimit.windowMs);
  // Only a wrong key counts as a failure: a missing header guesses nothing.
  const wrongKey = (request: FastifyRequest): ServingError => {
    failures.failed(request.ip, Date.now());
    return new ServingError('unauthorized', 'unknown API key');
  };
  app.decorateRequest('tenant', undefined);
  app.addHook('onRequest', (request, reply, next) => {
    if (open) {
      const foreign = foreignRequest(request);
      if (foreign) return next(foreign);
    }
    if (request.is404) return next(new ServingError('route_not_found', `no endpoint ${request.method} ${shortPath(request.url)}`));
    if (AUTH_FREE.has(`${request.method} ${request.routeOptions.url}`)) return next();
    if (open) {
      request.tenant = OPEN_TENANT;
      return next();
    }
    const waitMs = failures.blockedFor(request.ip, Date.now());
    if (waitMs > 0) {
      reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
      return next(new ServingError('rate_limited', `too many failed authentications from this address; retry in ${Math.ceil(waitMs / 1000)} s`));
    }
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) return next(new ServingError('unauthorized', 'send Authorization: Bearer <key>'));
    const tenant = byHash.get(hashKey(match[1]!));
    if (!tenant) return next(wrongKey(request));
    request.tenant = tenant;
    next();
  });
}
