import type { FastifyInstance } from 'fastify';
import { V1_PREDICT_ROUTES } from '../protocol/kserve-v1.js';
import { clientRequestId } from '../http/request-id.js';
import type { AuditEntry, AuditLog } from './audit-log.js';

/** What the inference path learned about a request, for its audit record. */
export interface AuditDetails {
  route?: string;
  model?: string;
  version?: string;
  tier?: string;
  escalated?: boolean;
  idempotencyKey?: string;
  replayed?: boolean;
  costUsd?: number;
  /** The review item this answer was filed as. */
  reviewId?: string;
  /** Set when the model caches answers: true when this one came from the response cache. */
  cached?: boolean;
  /** For the request log: how the answering request was served. */
  queueMs?: number;
  computeMs?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    audit: AuditDetails | undefined;
    /** The error code this request was answered with, if any. */
    errorCode: string | undefined;
  }
}

/**
 * One record per inference request, written after the response is sent (so it adds no
 * latency), for every outcome: rejections at authentication or rate limiting included.
 */
export function installAuditHook(app: FastifyInstance, log: AuditLog): void {
  app.decorateRequest('audit', undefined);
  app.addHook('onResponse', (request, reply, done) => {
    const url = request.routeOptions.url ?? '';
    const inference =
      url.endsWith('/infer') ||
      url.endsWith('/explain') ||
      (request.method === 'POST' && (V1_PREDICT_ROUTES as readonly string[]).includes(url));
    if (!inference && !(request.method === 'POST' && url === '/v1/tasks/:pipeline')) return done();
    const params = request.params as { model?: string; pipeline?: string };
    const entry = auditEntry({
      requestId: request.id,
      clientRequestId: clientRequestId(request.headers),
      tenant: request.tenant?.name,
      target: params.model ?? params.pipeline ?? '',
      details: request.audit ?? {},
      status: reply.statusCode,
      code: request.errorCode,
      latencyMs: reply.elapsedTime,
    });
    log.append(entry).catch((error: unknown) => request.log.error({ err: error }, 'audit write failed'));
    done();
  });
}

/** What any front end knows about a finished call. */
export interface FinishedCall {
  readonly requestId: string;
  /** The caller's own request id, when it sent a usable one. */
  readonly clientRequestId: string | undefined;
  readonly tenant: string | undefined;
  /** The name called, for calls rejected before the pipeline noted a route. */
  readonly target: string;
  readonly details: AuditDetails;
  /** The HTTP status (a gRPC call's, as the error table gives it). */
  readonly status: number;
  readonly code: string | undefined;
  readonly latencyMs: number;
}

/** One audit record, the same for an HTTP request and a gRPC call. */
export function auditEntry(call: FinishedCall): AuditEntry {
  const details = call.details;
  return {
    time: new Date().toISOString(),
    requestId: call.requestId,
    ...(call.clientRequestId !== undefined ? { clientRequestId: call.clientRequestId } : {}),
    tenant: call.tenant ?? 'unauthenticated',
    route: details.route ?? call.target,
    ...(details.model !== undefined
      ? { model: details.model, version: details.version, tier: details.tier, escalated: details.escalated }
      : {}),
    ...(details.idempotencyKey !== undefined ? { idempotencyKey: details.idempotencyKey, replayed: details.replayed ?? false } : {}),
    status: call.status,
    ...(call.code ? { code: call.code } : {}),
    costUsd: details.costUsd ?? 0,
    latencyMs: Math.round(call.latencyMs * 1000) / 1000,
    ...(details.reviewId !== undefined ? { reviewId: details.reviewId } : {}),
    ...(details.cached !== undefined ? { cached: details.cached } : {}),
  };
}
