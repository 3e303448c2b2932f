import type { FastifyInstance } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import { hashKey, type Policy, type Tenant } from '../policy/policy-config.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set for every route but health. */
    tenant: Tenant | undefined;
  }
}

/** With no tenants configured (loopback only), every caller is this local admin. */
export const OPEN_TENANT: Tenant = { name: 'local', role: 'admin', plan: 'default', models: ['*'], keyHashes: [] };

/** Health probes, and the console page itself (static: its data comes from the admin API with a key). */
const UNAUTHENTICATED = /^\/(v2\/health\/|console(\?|$))/;

/** `Authorization: Bearer <key>` → tenant, on every route but health and the console page; 401 otherwise. */
export function installAuthentication(app: FastifyInstance, policy: Policy): void {
  const byHash = new Map<string, Tenant>();
  for (const tenant of policy.tenants) for (const hash of tenant.keyHashes) byHash.set(hash, tenant);
  const open = policy.tenants.length === 0;
  app.decorateRequest('tenant', undefined);
  app.addHook('onRequest', (request, _reply, next) => {
    if (UNAUTHENTICATED.test(request.url)) return next();
    if (open) {
      request.tenant = OPEN_TENANT;
      return next();
    }
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) return next(new ServingError('unauthorized', 'send Authorization: Bearer <key>'));
    const tenant = byHash.get(hashKey(match[1]!));
    if (!tenant) return next(new ServingError('unauthorized', 'unknown API key'));
    request.tenant = tenant;
    next();
  });
}
