import type { FastifyRequest } from 'fastify';
import { V1_PREDICT_ROUTES } from '../protocol/kserve-v1.js';
import type { ResponseObserver } from '../http/response-observers.js';
import type { ConsoleSeries } from './console-series.js';

/** The model or route an inference or task request targets, once the router matched it. */
function targetOf(request: FastifyRequest): string | undefined {
  const url = request.routeOptions.url ?? '';
  const params = request.params as { model?: string; pipeline?: string };
  if (url.endsWith('/infer') || (request.method === 'POST' && (V1_PREDICT_ROUTES as readonly string[]).includes(url))) return params.model;
  if (request.method === 'POST' && url === '/v1/tasks/:pipeline') return `task:${params.pipeline}`;
  return undefined;
}

/**
 * Feeds the console's charts from the inference and task routes. Only names that exist
 * get a series (`known`), so requests for made-up models cannot grow it.
 */
export function consoleObserver(series: ConsoleSeries, known: (target: string) => boolean): ResponseObserver {
  return (request, reply) => {
    const target = targetOf(request);
    if (target !== undefined && known(target)) series.finished(target, reply.elapsedTime);
  };
}
