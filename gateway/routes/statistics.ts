import type { FastifyInstance } from 'fastify';
import { assertAdmin, assertMayCall } from '../auth/authorize.js';
import { resolveModel } from '../routing/resolve-model.js';
import type { ServingBackend } from '../serving-backend.js';
import { docs, json, MODEL_PARAM, VERSION_PARAM } from '../openapi/route-docs.js';
import { MODEL_STATS } from '../openapi/oip-schemas.js';

const stats = (summary: string, admin: boolean) =>
  docs({ tag: 'models', summary, errors: admin ? ['forbidden'] : ['forbidden', 'model_not_found', 'version_not_found'], responses: { 200: { description: 'Triton\'s statistics.', content: json(MODEL_STATS) } } });
const params = (versioned: boolean) => ({
  type: 'object',
  required: ['model', ...(versioned ? ['version'] : [])],
  properties: { model: MODEL_PARAM, ...(versioned ? { version: VERSION_PARAM } : {}) },
});

/** Triton's statistics extension. */
export function statisticsRoutes(app: FastifyInstance, backend: ServingBackend): void {
  app.get('/v2/models/stats', { config: stats('Statistics of every model (admin)', true) }, async (request) => {
    assertAdmin(request.tenant);
    return { model_stats: backend.statistics() };
  });
  app.get<{ Params: { model: string; version?: string } }>('/v2/models/:model/stats', { schema: { params: params(false) }, config: stats('Statistics of a model', false) }, async (request) => {
    assertMayCall(request.tenant, request.params.model);
    const { definition } = resolveModel(backend, request.params.model, undefined);
    return { model_stats: backend.statistics(definition.name) };
  });
  app.get<{ Params: { model: string; version: string } }>('/v2/models/:model/versions/:version/stats', { schema: { params: params(true) }, config: stats('Statistics of a model version', false) }, async (request) => {
    assertMayCall(request.tenant, request.params.model);
    const { definition, version } = resolveModel(backend, request.params.model, request.params.version);
    return { model_stats: backend.statistics(definition.name, version) };
  });
}
