import { Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AuditDetails } from '../audit/audit-hook.js';
import { auditEntry } from '../audit/audit-hook.js';
import { AuthThrottledError } from '../auth/api-keys.js';
import { toServingError } from '../http/error-reply.js';
import { clientRequestIdOf, requestIdFor } from '../http/request-id.js';
import { traceContextFor, traceparentOf, type TraceContext } from '../http/trace-context.js';
import { RateLimitedError, type RateLimitState } from '../limits/tenant-rate-limit.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { countPolicyOutcomes } from '../metrics/metrics-hook.js';
import type { Tenant } from '../policy/policy-config.js';
import type { BodyMemory } from '../limits/body-memory.js';
import type { PipelineDeps } from '../request/pipeline-deps.js';
import { grpcStatusOf, toServiceError } from './grpc-errors.js';
import { finishRequestSpan, startRpcSpan } from '../tracing/request-span.js';
import { traceStep } from '../../workers/tracing/trace-step.js';

/** What every RPC handler shares: the request pipeline, the observers, the logger. */
export interface GrpcFront {
  readonly pipeline: PipelineDeps;
  readonly logger: Logger;
  readonly metrics?: GatewayMetrics;
  /** The request bytes the gateway holds at once, shared with HTTP (BODY_MEMORY_BYTES); unbounded when absent. */
  readonly bodyMemory?: BodyMemory;
}

/** One RPC (or one request on a stream): the gRPC twin of a fastify request. */
export interface GrpcCall {
  readonly method: string;
  /** The gateway's own id; the caller's x-request-id metadata, when usable, is clientRequestId. */
  readonly requestId: string;
  readonly clientRequestId: string | undefined;
  readonly arrivedAt: number;
  readonly trace: TraceContext;
  readonly log: Logger;
  tenant: Tenant | undefined;
  rateLimit?: RateLimitState;
  /** Set for inference calls: the pipeline's notes, for the audit record and the log line. */
  audit?: AuditDetails;
  /** The model or route called, for the audit record of a call refused before the pipeline. */
  target?: string;
}

/** What handlers read from a call's metadata: grpc-js's Metadata, or the lean ModelInfer path's request headers. */
export interface MetadataReader {
  get(key: string): readonly unknown[];
}

/** What authentication reads from a call: its metadata and its peer (`host:port`). */
export interface CallSource {
  readonly metadata: MetadataReader;
  getPeer(): string;
}

export function metadataValue(metadata: MetadataReader, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === 'string' ? value : undefined;
}

export function openCall(front: GrpcFront, method: string, metadata: MetadataReader): GrpcCall {
  const requestId = requestIdFor();
  const clientRequestId = clientRequestIdOf(metadataValue(metadata, 'x-request-id'));
  let log: Logger | undefined;
  return {
    method,
    requestId,
    clientRequestId,
    arrivedAt: performance.now(),
    trace: startRpcSpan(traceContextFor(metadataValue(metadata, 'traceparent')), method),
    // A child logger costs a few microseconds; most calls never log (production runs at warn).
    get log() {
      log ??= front.logger.child({ requestId });
      return log;
    },
    tenant: undefined,
  };
}

/** The address part of grpc-js's peer (`host:port`, IPv6 unbracketed), as HTTP's request.ip names it. */
export function peerAddress(peer: string): string {
  const at = peer.lastIndexOf(':');
  return at > 0 && /^\d+$/.test(peer.slice(at + 1)) ? peer.slice(0, at) : peer;
}

/**
 * The caller's tenant from its metadata and address: the authenticator (wrong-key limit and
 * TRUST_PROXY's reading of x-forwarded-for) HTTP's hook uses. Node's HTTP/2 layer joins a
 * repeated x-forwarded-for into one value, as HTTP/1.1 does.
 */
export function authenticateCall(front: GrpcFront, source: CallSource): Tenant {
  const { metadata } = source;
  return front.pipeline.authenticate(
    metadataValue(metadata, 'authorization'),
    peerAddress(source.getPeer()),
    metadataValue(metadata, 'x-forwarded-for'),
  );
}

/** Authentication and the rate limit: the same functions the HTTP hooks call. */
export async function authorizeCall(front: GrpcFront, call: GrpcCall, source: CallSource): Promise<Tenant> {
  const tenant = traceStep(call.trace.span, 'auth', () => authenticateCall(front, source));
  call.tenant = tenant;
  try {
    const state = await traceStep(call.trace.span, 'rate limit', () => front.pipeline.rateLimiter.take(tenant));
    if (state) call.rateLimit = state;
  } catch (error) {
    if (error instanceof RateLimitedError) call.rateLimit = error.state;
    throw error;
  }
  return tenant;
}

function addRateLimit(headers: Record<string, string>, state: RateLimitState | undefined): void {
  if (!state) return;
  headers['x-ratelimit-limit'] = String(state.limit);
  headers['x-ratelimit-remaining'] = String(state.remaining);
  headers['x-ratelimit-reset'] = String(state.resetSeconds);
}

/** Initial metadata of an answer as plain headers: its request id, trace, rate-limit state and the answer's own headers. */
export function answerHeaders(call: GrpcCall, headers: Readonly<Record<string, string>> = {}): Record<string, string> {
  const out: Record<string, string> = { 'x-request-id': call.requestId };
  if (call.clientRequestId !== undefined) out['x-client-request-id'] = call.clientRequestId;
  out.traceparent = traceparentOf(call.trace);
  addRateLimit(out, call.rateLimit);
  for (const name in headers) out[name.toLowerCase()] = headers[name]!;
  return out;
}

/** answerHeaders as grpc-js Metadata. */
export function answerMetadata(call: GrpcCall, headers: Readonly<Record<string, string>> = {}): Metadata {
  const metadata = new Metadata();
  const all = answerHeaders(call, headers);
  for (const name in all) metadata.set(name, all[name]!);
  return metadata;
}

/** An error as a gRPC status, logged like HTTP's 5xx; the status and code it was recorded with. */
export function failCall(call: GrpcCall, error: unknown) {
  const serving = toServingError(error as Error);
  if (serving.status >= 500 && serving.code !== 'client_cancelled') call.log.error({ err: error, code: serving.code }, 'request failed');
  const status = toServiceError(serving, call.requestId);
  if (call.clientRequestId !== undefined) status.metadata!.set('x-client-request-id', call.clientRequestId);
  if (error instanceof AuthThrottledError) status.metadata!.set('retry-after', String(error.retryAfterSeconds));
  else if (serving.code === 'rate_limited' && call.rateLimit) {
    const limits: Record<string, string> = {};
    addRateLimit(limits, call.rateLimit);
    for (const name in limits) status.metadata!.set(name, limits[name]!);
    status.metadata!.set('retry-after', String(call.rateLimit.resetSeconds));
  }
  return { status, httpStatus: serving.status, code: serving.code };
}

/**
 * After the answer: the same audit record (inference calls), metrics and log line an
 * HTTP request gets. The duration histogram's route is the RPC path, its method GRPC,
 * its status the HTTP status of the outcome.
 */
export function finishCall(front: GrpcFront, call: GrpcCall, status: number, code: string | undefined): void {
  const latencyMs = performance.now() - call.arrivedAt;
  const route = `/inference.GRPCInferenceService/${call.method}`;
  if (call.trace.span)
    finishRequestSpan(
      call.trace.span,
      { requestId: call.requestId, tenant: call.tenant?.name, audit: call.audit, code },
      { 'rpc.grpc.status_code': grpcStatusOf(status) },
      status >= 500,
    );
  front.metrics?.http.series({ route, method: 'GRPC', status: String(status) }).observe(latencyMs / 1000);
  if (front.metrics) countPolicyOutcomes(front.metrics, call.tenant?.name, code, call.audit);
  const details = call.audit ?? {};
  if (call.audit !== undefined || call.target !== undefined) {
    const { requestId, clientRequestId } = call;
    const entry = auditEntry({
      requestId,
      clientRequestId,
      tenant: call.tenant?.name,
      target: call.target ?? '',
      details,
      status,
      code,
      latencyMs,
    });
    front.pipeline.services.audit.append(entry).catch((error: unknown) => call.log.error({ err: error }, 'audit write failed'));
  }
  if (!front.logger.isLevelEnabled('info')) return;
  call.log.info(
    {
      ...(call.clientRequestId !== undefined ? { clientRequestId: call.clientRequestId } : {}),
      traceId: call.trace.traceId,
      tenant: call.tenant?.name ?? 'unauthenticated',
      method: 'GRPC',
      route,
      ...(details.route !== undefined ? { target: details.route } : {}),
      ...(details.model !== undefined ? { model: details.model, version: details.version, tier: details.tier } : {}),
      ...(details.queueMs !== undefined ? { queueMs: details.queueMs, computeMs: details.computeMs } : {}),
      ...(details.costUsd !== undefined ? { costUsd: details.costUsd } : {}),
      status,
      ...(code ? { code } : {}),
      durationMs: Math.round(latencyMs * 1000) / 1000,
    },
    'request',
  );
}
