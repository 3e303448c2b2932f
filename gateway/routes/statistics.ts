import type { FastifyInstance } from 'fastify';
import { assertAdmin, assertMayCall } from '../auth/authorize.js';
import { resolveModel } from '../routing/resolve-model.js';
import type { ServingBackend } from '../serving-backend.js';

/** Triton's statistics extension. */
export function statisticsRoutes(app: FastifyInstance, backend: ServingBackend): void {
  app.get('/v2/models/stats', async (request) => {
    assertAdmin(request.tenant);
    return { model_stats: backend.statistics() };
  });
  app.get<{ Params: { model: string; version?: string } }>('/v2/models/:model/stats', async (request) => {
    assertMayCall(request.tenant, request.params.model);
    const { definition } = resolveModel(backend, request.params.model, undefined);
    return { model_stats: backend.statistics(definition.name) };
  });
  app.get<{ Params: { model: string; version: string } }>('/v2/models/:model/versions/:version/stats', async (request) => {
    assertMayCall(request.tenant, request.params.model);
    const { definition, version } = resolveModel(backend, request.params.model, request.params.version);
    return { model_stats: backend.statistics(definition.name, version) };
  });
}
