import type { Logger } from 'pino';
import { clientRequestId } from './request-id.js';
import type { ResponseObserver } from './response-observers.js';

/**
 * One JSON log line per API request (at info, so production's warn level and the
 * benchmarks pay nothing), after the response: who asked for what, what served it, what
 * it cost and how it ended, with the trace it belongs to.
 */
export const logRequest: ResponseObserver = (request, reply) => {
  // fastify's logger type omits pino's isLevelEnabled; the instance is pino's.
  if (!(request.log as unknown as Logger).isLevelEnabled('info')) return;
  const details = request.audit ?? {};
  const clientId = clientRequestId(request.headers);
  // request.log already binds requestId (fastify's requestIdLogLabel): naming it again wrote the key twice.
  request.log.info(
    {
      traceId: request.trace?.traceId,
      ...(clientId !== undefined ? { clientRequestId: clientId } : {}),
      tenant: request.tenant?.name ?? 'unauthenticated',
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      ...(details.route !== undefined ? { target: details.route } : {}),
      ...(details.model !== undefined ? { model: details.model, version: details.version, tier: details.tier } : {}),
      ...(details.queueMs !== undefined ? { queueMs: details.queueMs, computeMs: details.computeMs } : {}),
      ...(details.costUsd !== undefined ? { costUsd: details.costUsd } : {}),
      ...(details.cached !== undefined ? { cached: details.cached } : {}),
      status: reply.statusCode,
      ...(request.errorCode ? { code: request.errorCode } : {}),
      durationMs: Math.round(reply.elapsedTime * 1000) / 1000,
    },
    'request',
  );
};
