import { ServingError } from '../../workers/protocol/errors.js';

/**
 * Triton's trace extension reads as "Triton tracing off", over HTTP and gRPC: Switchyard writes
 * no Triton trace files. Its tracing is W3C Trace Context, always on: every request continues
 * the caller's `traceparent` (or starts a trace) and hands it to the queue and the workers.
 */
export const TRACE_SETTINGS = {
  trace_level: ['OFF'],
  trace_rate: '1000',
  trace_count: '-1',
  log_frequency: '0',
  trace_file: '',
  trace_mode: 'triton',
} as const;

export const refuseTraceChange = (): never => {
  throw new ServingError(
    'not_supported',
    'trace settings cannot be changed: Switchyard traces every request with W3C traceparent, not Triton trace files',
  );
};
