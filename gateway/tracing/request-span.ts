import { activeTracer, contextWith, endWithError, SpanKind, type Attributes, type Span } from '../../workers/tracing/tracer.js';
import type { AuditDetails } from '../audit/audit-hook.js';
import type { TraceContext } from '../http/trace-context.js';

/**
 * The gateway's span for one request (HTTP or gRPC), continuing the caller's traceparent. Its
 * ids replace the trace context's, so the traceparent the response carries and the queue hands
 * to the workers names this span. Unchanged when tracing is off.
 */
export function startRequestSpan(trace: TraceContext, name: string, attributes?: Attributes): TraceContext {
  const tracer = activeTracer();
  if (tracer === undefined) return trace;
  const parent =
    trace.parentId === undefined
      ? undefined
      : { traceId: trace.traceId, spanId: trace.parentId, traceFlags: Number.parseInt(trace.flags, 16) & 1, isRemote: true };
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER, ...(attributes ? { attributes } : {}) }, contextWith(parent));
  // Not sampled: no span travels with the request (every later hook then costs one check),
  // and the flags say so to the workers and the caller.
  if (!span.isRecording()) return trace.flags === '00' ? trace : { ...trace, flags: '00' };
  const own = span.spanContext();
  return {
    traceId: own.traceId,
    spanId: own.spanId,
    ...(trace.parentId !== undefined ? { parentId: trace.parentId } : {}),
    flags: own.traceFlags & 1 ? '01' : '00',
    span,
  };
}

export interface RequestOutcome {
  readonly requestId: string;
  readonly tenant: string | undefined;
  readonly audit: AuditDetails | undefined;
  /** The stable error code, when the request failed. */
  readonly code: string | undefined;
  readonly message?: string;
}

/** What served the request (Triton's and OTel's attribute names), then the span ends; failed on 5xx as the HTTP server conventions say. */
export function finishRequestSpan(span: Span | undefined, outcome: RequestOutcome, attributes: Attributes, serverError: boolean): void {
  if (span === undefined || !span.isRecording()) return;
  const { audit } = outcome;
  span.setAttributes(attributes);
  span.setAttribute('switchyard.request_id', outcome.requestId);
  if (outcome.tenant !== undefined) span.setAttribute('switchyard.tenant', outcome.tenant);
  if (audit?.model !== undefined) span.setAttributes({ 'triton.model_name': audit.model, 'triton.model_version': audit.version ?? '' });
  if (audit?.route !== undefined) span.setAttribute('switchyard.route', audit.route);
  if (audit?.tier !== undefined) span.setAttribute('switchyard.tier', audit.tier);
  if (audit?.queueMs !== undefined)
    span.setAttributes({ 'switchyard.queue_ms': audit.queueMs, 'switchyard.compute_ms': audit.computeMs ?? 0 });
  if (audit?.costUsd !== undefined) span.setAttribute('switchyard.cost_usd', audit.costUsd);
  if (audit?.replayed) span.setAttribute('switchyard.idempotent_replay', true);
  if (outcome.code !== undefined) span.setAttribute('switchyard.error_code', outcome.code);
  if (serverError) endWithError(span, { code: outcome.code, message: outcome.message ?? outcome.code });
  else span.end();
}

/** A gRPC call's span (OTel's RPC conventions); with tracing off nothing is built. */
export function startRpcSpan(trace: TraceContext, method: string): TraceContext {
  if (activeTracer() === undefined) return trace;
  return startRequestSpan(trace, `inference.GRPCInferenceService/${method}`, {
    'rpc.system': 'grpc',
    'rpc.service': 'inference.GRPCInferenceService',
    'rpc.method': method,
  });
}
