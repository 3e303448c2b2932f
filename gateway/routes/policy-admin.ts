import type { FastifyInstance } from 'fastify';
import { adminOnly } from '../auth/authenticate.js';
import type { PolicyServices } from '../wiring/policy-services.js';
import { docs, json, ANY_OBJECT } from '../openapi/route-docs.js';

/** Admin views of the policy layer: the audit log, and routes with breakers and shadow agreement. */
export function policyAdminRoutes(app: FastifyInstance, services: PolicyServices): void {
  const auditDocs = docs({
    tag: 'admin',
    summary: 'The audit log, newest first (admin)',
    errors: ['forbidden'],
    responses: {
      200: {
        description: 'Audit entries.',
        content: json({ type: 'object', required: ['entries'], properties: { entries: { type: 'array', items: ANY_OBJECT } } }),
      },
    },
  });
  const auditQuery = {
    type: 'object',
    properties: { limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 }, tenant: { type: 'string' } },
  };
  app.get<{ Querystring: { limit: number; tenant?: string } }>(
    '/v1/admin/audit',
    { onRequest: adminOnly, schema: { querystring: auditQuery }, config: auditDocs },
    async (request) => {
      return { entries: await services.audit.read(request.query.limit, request.query.tenant) };
    },
  );
  const routesDocs = docs({
    tag: 'admin',
    summary: 'Routes with their shadow agreement, and circuit breakers (admin)',
    errors: ['forbidden'],
    responses: {
      200: {
        description: "The policy's routes.",
        content: json({
          type: 'object',
          required: ['routes', 'circuit_breakers'],
          properties: { routes: { type: 'array', items: ANY_OBJECT }, circuit_breakers: {} },
        }),
      },
    },
  });
  app.get('/v1/admin/routes', { onRequest: adminOnly, config: routesDocs }, async () => {
    const shadow = await services.shadow.read();
    return {
      routes: services.policy.routes.map((route) => ({ ...route, shadow_agreement: shadow[route.name] ?? { mirrored: 0, agreed: 0 } })),
      circuit_breakers: services.breakers.snapshot(),
    };
  });
}
