import type { FastifyInstance } from 'fastify';
import { adminOnly } from '../auth/authenticate.js';
import { assertMayCall } from '../auth/authorize.js';
import { resolveModel } from '../routing/resolve-model.js';
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
export function statisticsRoutes(app: FastifyInstance, backend: ServingBackend): void {
  app.get('/v2/models/stats', { onRequest: adminOnly, config: stats('Statistics of every model (admin)') }, async () => ({
    model_stats: backend.statistics(),
  }));
  app.get<{ Params: { model: string; version?: string } }>(
    '/v2/models/:model/stats',
    { config: stats('Statistics of a model', params(false)) },
    async (request) => {
      assertMayCall(request.tenant, request.params.model);
      const { definition } = resolveModel(backend, request.params.model, undefined);
      return { model_stats: backend.statistics(definition.name) };
    },
  );
  app.get<{ Params: { model: string; version: string } }>(
    '/v2/models/:model/versions/:version/stats',
    { config: stats('Statistics of a model version', params(true)) },
    async (request) => {
      assertMayCall(request.tenant, request.params.model);
      const { definition, version } = resolveModel(backend, request.params.model, request.params.version);
      return { model_stats: backend.statistics(definition.name, version) };
    },
  );
}
