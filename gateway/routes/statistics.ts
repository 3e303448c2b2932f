import type { FastifyInstance } from 'fastify';
import { adminOnly } from '../auth/authenticate.js';
import type { RouteConfig, Tenant } from '../policy/policy-config.js';
import { modelStatistics } from '../request/model-queries.js';
import type { ServingBackend } from '../serving-backend.js';
import { docs, json, MODEL_PARAM, VERSION_PARAM, type JsonSchema } from '../openapi/route-docs.js';
import { MODEL_STATS } from '../openapi/oip-schemas.js';

// Names are looked up by hand (model_not_found, version_not_found): described, not validated by ajv.
const stats = (summary: string, params?: JsonSchema) =>
  docs({
    tag: 'models',
    summary,
    errors: params ? ['forbidden', 'model_not_found', 'version_not_found'] : ['forbidden'],
    responses: { 200: { description: "Triton's statistics.", content: json(MODEL_STATS) } },
    ...(params ? { handChecked: { params } } : {}),
  });
const params = (versioned: boolean) => ({
  type: 'object',
  required: ['model', ...(versioned ? ['version'] : [])],
  properties: { model: MODEL_PARAM, ...(versioned ? { version: VERSION_PARAM } : {}) },
});

/** Triton's statistics extension. */
export function statisticsRoutes(app: FastifyInstance, backend: ServingBackend, routes: readonly RouteConfig[]): void {
  app.get('/v2/models/stats', { onRequest: adminOnly, config: stats('Statistics of every model (admin)') }, async () => ({
    model_stats: backend.statistics(),
  }));
  const answer = async (request: { tenant: Tenant | undefined; params: { model: string; version?: string } }) => ({
    model_stats: modelStatistics(backend, routes, {
      tenant: request.tenant,
      name: request.params.model,
      ...(request.params.version !== undefined ? { version: request.params.version } : {}),
    }),
  });
  app.get<{ Params: { model: string } }>(
    '/v2/models/:model/stats',
    { config: stats('Statistics of a model, or of the versions a route runs', params(false)) },
    answer,
  );
  app.get<{ Params: { model: string; version: string } }>(
    '/v2/models/:model/versions/:version/stats',
    { config: stats('Statistics of a model version', params(true)) },
    answer,
  );
}
