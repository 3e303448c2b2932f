import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { adminOnly } from '../auth/authenticate.js';
import { docs } from '../openapi/route-docs.js';

/**
 * GET /metrics, Prometheus text format, with the same authentication as the other admin
 * endpoints: it names tenants and their spend. Scrape it with an admin key
 * (`authorization: {credentials: ...}` in Prometheus); with no tenants configured
 * (loopback only) every caller is the local admin.
 */
export function metricsRoutes(app: FastifyInstance, registry: Registry): void {
  const metrics = docs({
    tag: 'admin',
    summary: 'Prometheus metrics (admin key)',
    errors: ['forbidden'],
    responses: { 200: { description: 'Prometheus text format.', content: { 'text/plain': { type: 'string' } } } },
  });
  app.get('/metrics', { onRequest: adminOnly, config: metrics }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
