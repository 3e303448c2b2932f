import type { FastifyInstance } from 'fastify';
import { assertAdmin, assertMayCall } from '../auth/authorize.js';
import { ServingError } from '../../workers/protocol/errors.js';
import { docs, json, ANY_OBJECT, MODEL_PARAM, type JsonSchema } from '../openapi/route-docs.js';

/**
 * Triton's trace extension reads as "Triton tracing off": Switchyard writes no Triton trace
 * files. Its tracing is W3C Trace Context, always on: every request continues the caller's
 * `traceparent` (or starts a trace) and hands it to the queue and the workers.
 */
const SETTINGS = {
  trace_level: ['OFF'],
  trace_rate: '1000',
  trace_count: '-1',
  log_frequency: '0',
  trace_file: '',
  trace_mode: 'triton',
} as const;

const refuse = (): never => {
  throw new ServingError(
    'not_supported',
    'trace settings cannot be changed: Switchyard traces every request with W3C traceparent, not Triton trace files',
  );
};

const TRACE_SETTINGS = {
  type: 'object',
  required: ['trace_level'],
  properties: Object.fromEntries(
    Object.keys(SETTINGS).map((key) => [key, key === 'trace_level' ? { type: 'array', items: { type: 'string' } } : { type: 'string' }]),
  ),
};
const MODEL_ONLY = { type: 'object', required: ['model'], properties: { model: MODEL_PARAM } } as const;
const read = (summary: string, params?: JsonSchema) =>
  docs({
    tag: 'triton',
    summary,
    errors: ['forbidden'],
    responses: { 200: { description: 'Tracing is W3C traceparent, always on; Triton trace files: off.', content: json(TRACE_SETTINGS) } },
    ...(params ? { handChecked: { params } } : {}),
  });
const change = (summary: string, params?: JsonSchema) =>
  docs({
    tag: 'triton',
    summary,
    errors: ['forbidden', 'not_supported'],
    handChecked: { body: json(ANY_OBJECT), ...(params ? { params } : {}) },
  });

export function traceSettingsRoutes(app: FastifyInstance): void {
  app.get('/v2/trace/setting', { config: read('Trace settings (admin)') }, async (request) => {
    assertAdmin(request.tenant);
    return SETTINGS;
  });
  app.get<{ Params: { model: string } }>(
    '/v2/models/:model/trace/setting',
    { config: read("A model's trace settings", MODEL_ONLY) },
    async (request) => {
      assertMayCall(request.tenant, request.params.model);
      return SETTINGS;
    },
  );
  app.post('/v2/trace/setting', { config: change('Change trace settings (refused)') }, async (request) => {
    assertAdmin(request.tenant);
    return refuse();
  });
  app.post<{ Params: { model: string } }>(
    '/v2/models/:model/trace/setting',
    { config: change("Change a model's trace settings (refused)", MODEL_ONLY) },
    async (request) => {
      assertAdmin(request.tenant);
      return refuse();
    },
  );
}
