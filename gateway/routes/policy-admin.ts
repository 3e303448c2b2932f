import type { FastifyInstance } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import { assertAdmin } from '../auth/authorize.js';
import type { PolicyServices } from '../wiring/policy-services.js';

/** Admin views of the policy layer: the audit log, and routes with breakers and shadow agreement. */
export function policyAdminRoutes(app: FastifyInstance, services: PolicyServices): void {
  app.get<{ Querystring: { limit?: string; tenant?: string } }>('/v1/admin/audit', async (request) => {
    assertAdmin(request.tenant);
    const limit = request.query.limit === undefined ? 100 : Number(request.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new ServingError('invalid_parameter', 'limit must be an integer from 1 to 10000');
    return { entries: await services.audit.read(limit, request.query.tenant) };
  });
  app.get('/v1/admin/routes', async (request) => {
    assertAdmin(request.tenant);
    const shadow = await services.shadow.read();
    return {
      routes: services.policy.routes.map((route) => ({ ...route, shadow_agreement: shadow[route.name] ?? { mirrored: 0, agreed: 0 } })),
      circuit_breakers: services.breakers.snapshot(),
    };
  });
}
