import type { FastifyInstance } from 'fastify';
import type { Tenant } from '../policy/policy-config.js';
import type { Authenticator } from './api-keys.js';

export { OPEN_TENANT } from './api-keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set for every route but health. */
    tenant: Tenant | undefined;
  }
}

/** Health probes, and the console page itself (static: its data comes from the admin API with a key). */
const UNAUTHENTICATED = /^\/(v2\/health\/|console(\?|$))/;

/** `Authorization: Bearer <key>` → tenant, on every route but health and the console page; 401 otherwise. */
export function installAuthentication(app: FastifyInstance, authenticate: Authenticator): void {
  app.decorateRequest('tenant', undefined);
  app.addHook('onRequest', (request, _reply, next) => {
    if (UNAUTHENTICATED.test(request.url)) return next();
    try {
      request.tenant = authenticate(request.headers.authorization);
    } catch (error) {
      return next(error as Error);
    }
    next();
  });
}
