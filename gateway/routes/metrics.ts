import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { assertAdmin } from '../auth/authorize.js';

/**
 * GET /metrics, Prometheus text format, with the same authentication as the other admin
 * endpoints: it names tenants and their spend. Scrape it with an admin key
 * (`authorization: {credentials: ...}` in Prometheus); with no tenants configured
 * (loopback only) every caller is the local admin.
 */
export function metricsRoutes(app: FastifyInstance, registry: Registry): void {
  app.get('/metrics', async (request, reply) => {
    assertAdmin(request.tenant);
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
