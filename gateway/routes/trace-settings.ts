import type { FastifyInstance } from 'fastify';
import { adminOnly } from '../auth/authenticate.js';
import { assertMayCall } from '../auth/authorize.js';
import { docs, json, ANY_OBJECT, MODEL_PARAM, type JsonSchema } from '../openapi/route-docs.js';
import { refuseTraceChange, TRACE_SETTINGS } from '../request/trace-settings.js';

const TRACE_SCHEMA = {
  type: 'object',
  required: ['trace_level'],
  properties: Object.fromEntries(
    Object.keys(TRACE_SETTINGS).map((key) => [
      key,
      key === 'trace_level' ? { type: 'array', items: { type: 'string' } } : { type: 'string' },
    ]),
  ),
};
const MODEL_ONLY = { type: 'object', required: ['model'], properties: { model: MODEL_PARAM } } as const;
const read = (summary: string, params?: JsonSchema) =>
  docs({
    tag: 'triton',
    summary,
    errors: ['forbidden'],
    responses: { 200: { description: 'Tracing is W3C traceparent, always on; Triton trace files: off.', content: json(TRACE_SCHEMA) } },
    ...(params ? { handChecked: { params } } : {}),
  });
const change = (summary: string, params?: JsonSchema) =>
  docs({
    tag: 'triton',
    summary,
    errors: ['forbidden', 'not_supported'],
    handChecked: { body: json(ANY_OBJECT), ...(params ? { params } : {}) },
  });

/** Triton's trace extension: TRACE_SETTINGS to read, changes refused (gateway/request/trace-settings.ts). */
export function traceSettingsRoutes(app: FastifyInstance): void {
  app.get('/v2/trace/setting', { onRequest: adminOnly, config: read('Trace settings (admin)') }, async () => TRACE_SETTINGS);
  app.get<{ Params: { model: string } }>(
    '/v2/models/:model/trace/setting',
    { config: read("A model's trace settings", MODEL_ONLY) },
    async (request) => {
      assertMayCall(request.tenant, request.params.model);
      return TRACE_SETTINGS;
    },
  );
  app.post('/v2/trace/setting', { onRequest: adminOnly, config: change('Change trace settings (admin; refused)') }, async () =>
    refuseTraceChange(),
  );
  app.post<{ Params: { model: string } }>(
    '/v2/models/:model/trace/setting',
    { onRequest: adminOnly, config: change("Change a model's trace settings (admin; refused)", MODEL_ONLY) },
    async () => refuseTraceChange(),
  );
}
