import type { FastifyInstance } from 'fastify';
import { assertAdmin, assertMayCall } from '../auth/authorize.js';
import { ServingError } from '../../workers/protocol/errors.js';

/**
 * Triton's trace extension reads as "Triton tracing off": Switchyard writes no Triton trace
 * files. Its tracing is W3C Trace Context, always on: every request continues the caller's
 * `traceparent` (or starts a trace) and hands it to the queue and the workers.
 */
const SETTINGS = { trace_level: ['OFF'], trace_rate: '1000', trace_count: '-1', log_frequency: '0', trace_file: '', trace_mode: 'triton' } as const;

const refuse = (): never => {
  throw new ServingError('not_supported', 'trace settings cannot be changed: Switchyard traces every request with W3C traceparent, not Triton trace files');
};

export function traceSettingsRoutes(app: FastifyInstance): void {
  app.get('/v2/trace/setting', async (request) => {
    assertAdmin(request.tenant);
    return SETTINGS;
  });
  app.get<{ Params: { model: string } }>('/v2/models/:model/trace/setting', async (request) => {
    assertMayCall(request.tenant, request.params.model);
    return SETTINGS;
  });
  app.post('/v2/trace/setting', async (request) => {
    assertAdmin(request.tenant);
    return refuse();
  });
  app.post<{ Params: { model: string } }>('/v2/models/:model/trace/setting', async (request) => {
    assertAdmin(request.tenant);
    return refuse();
  });
}
