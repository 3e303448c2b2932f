import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConsoleSeries } from './console-series.js';

/** The model or route an inference or task request targets, once the router matched it. */
function targetOf(request: FastifyRequest): string | undefined {
  const url = request.routeOptions.url ?? '';
  const params = request.params as { model?: string; pipeline?: string };
  if (url.endsWith('/infer')) return params.model;
  if (request.method === 'POST' && url === '/v1/tasks/:pipeline') return `task:${params.pipeline}`;
  return undefined;
}

/**
 * Feeds the console's charts from the inference and task routes. Only names that exist
 * get a series (`known`), so requests for made-up models cannot grow it.
 */
export function installConsoleSeries(app: FastifyInstance, series: ConsoleSeries, known: (target: string) => boolean): void {
  const tracked = (request: FastifyRequest): string | undefined => {
    const target = targetOf(request);
    return target !== undefined && known(target) ? target : undefined;
  };
  app.addHook('onRequest', (request, _reply, done) => {
    const target = tracked(request);
    if (target !== undefined) series.started(target);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const target = tracked(request);
    if (target !== undefined) series.finished(target, reply.elapsedTime);
    done();
  });
}
