import type { FastifyInstance } from 'fastify';
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
    if (!url.endsWith('/infer') && !(request.method === 'POST' && url === '/v1/tasks/:pipeline')) return done();
    const details = request.audit ?? {};
    const clientId = clientRequestId(request.headers);
    const entry: AuditEntry = {
      time: new Date().toISOString(),
      requestId: request.id,
      ...(clientId !== undefined ? { clientRequestId: clientId } : {}),
      tenant: request.tenant?.name ?? 'unauthenticated',
      route: details.route ?? (request.params as { model?: string; pipeline?: string }).model ?? (request.params as { pipeline?: string }).pipeline ?? '',
      ...(details.model !== undefined ? { model: details.model, version: details.version, tier: details.tier, escalated: details.escalated } : {}),
      ...(details.idempotencyKey !== undefined ? { idempotencyKey: details.idempotencyKey, replayed: details.replayed ?? false } : {}),
      status: reply.statusCode,
      ...(request.errorCode ? { code: request.errorCode } : {}),
      costUsd: details.costUsd ?? 0,
      latencyMs: Math.round(reply.elapsedTime * 1000) / 1000,
      ...(details.reviewId !== undefined ? { reviewId: details.reviewId } : {}),
    };
    log.append(entry).catch((error: unknown) => request.log.error({ err: error }, 'audit write failed'));
    done();
  });
}
