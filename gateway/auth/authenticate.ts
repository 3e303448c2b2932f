import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import type { Tenant } from '../policy/policy-config.js';
import { AuthThrottledError, type Authenticator } from './api-keys.js';
import { assertAdmin } from './authorize.js';
import { foreignRequest } from './open-mode-guard.js';
import { missingHost } from '../http/node-refusals.js';

export { OPEN_TENANT, type AuthFailureLimit } from './api-keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set for every route but the auth-free ones (AUTH_FREE). */
    tenant: Tenant | undefined;
  }
}

/**
 * Health probes, and what the server ships as it is, the same for every caller: the console
 * page (its data comes from the admin API with a key) and the OpenAPI document (routes and
 * schemas, no tenant, model or spend). By method and route pattern: nothing else is reached
 * without a key.
 */
const AUTH_FREE = new Set(
  ['/v2/health/live', '/v2/health/ready', '/console', '/openapi.json'].flatMap((url) => [`GET ${url}`, `HEAD ${url}`]),
);

/** Whether a route (method and pattern, as registered) is answered without a key. */
export const isAuthFree = (method: string, url: string): boolean => AUTH_FREE.has(`${method} ${url}`);

/** Path only, at most 200 characters: an error never echoes a long or query-carrying URL back. */
export function shortPath(url: string): string {
  const path = url.split('?', 1)[0]!;
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

const AUTHORIZATION = /^authorization$/i;

/**
 * Whether the request carries Authorization more than once: Node keeps only the first in
 * `headers`, so a proxy that appends its own would otherwise decide who the caller is by
 * order (RFC 9110 makes a repeated singleton field an error). Reads Node's raw list: no
 * allocation.
 */
function repeatedAuthorization(rawHeaders: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== 13 || !AUTHORIZATION.test(name)) continue;
    if (seen) return true;
    seen = true;
  }
  return false;
}

/**
 * `Authorization: Bearer <key>` → tenant through the authenticator the gRPC front end shares
 * (one per-address failure limit for both), in onRequest: before any byte of the body is read,
 * so an unauthenticated body is refused unread. Unknown paths are answered here too, so no
 * body is parsed for them. In open mode (no tenants) requests not addressed to the loopback
 * listener are refused instead.
 */
export function installAuthentication(app: FastifyInstance, open: boolean, authenticate: Authenticator): void {
  app.decorateRequest('tenant', undefined);
  app.addHook('onRequest', (request, reply, next) => {
    const hostless = missingHost(request);
    if (hostless) return next(hostless);
    if (open) {
      const foreign = foreignRequest(request);
      if (foreign) return next(foreign);
    }
    if (request.is404) return next(new ServingError('route_not_found', `no endpoint ${request.method} ${shortPath(request.url)}`));
    if (isAuthFree(request.method, request.routeOptions.url ?? '')) return next();
    if (repeatedAuthorization(request.raw.rawHeaders))
      return next(new ServingError('unauthorized', 'send one Authorization header, not several'));
    try {
      // Node joins a repeated X-Forwarded-For into one string.
      const forwardedFor = request.headers['x-forwarded-for'] as string | undefined;
      request.tenant = authenticate(request.headers.authorization, request.raw.socket.remoteAddress ?? '', forwardedFor);
    } catch (error) {
      if (error instanceof AuthThrottledError) reply.header('retry-after', String(error.retryAfterSeconds));
      return next(error as Error);
    }
    next();
  });
}

/**
 * The onRequest hook of every admin-only route (`{ onRequest: adminOnly }`): after
 * authentication, before its parameters, query or body are parsed or validated, so a
 * non-admin key gets 403 whatever else is wrong with the request.
 */
export function adminOnly(request: FastifyRequest, _reply: FastifyReply, next: HookHandlerDoneFunction): void {
  try {
    assertAdmin(request.tenant);
  } catch (error) {
    return next(error as Error);
  }
  next();
}
