import type { FastifyInstance } from 'fastify';
import { adminOnly } from '../auth/authenticate.js';
import { consoleOverview } from '../console/console-overview.js';
import { CONSOLE_HEADERS } from '../console/console-headers.js';
import { CONSOLE_PAGE } from '../console/console-page.js';
import type { ConsoleSeries } from '../console/console-series.js';
import type { PolicyServices } from '../wiring/policy-services.js';
import type { ServingBackend } from '../serving-backend.js';
import type { TaskService } from '../tasks/task-service.js';
import { docs, json, ANY_OBJECT } from '../openapi/route-docs.js';

/** GET /console (the page; its data needs an admin key) and the overview it polls. */
export function consoleRoutes(
  app: FastifyInstance,
  backend: ServingBackend,
  services: PolicyServices,
  series: ConsoleSeries,
  tasks?: TaskService,
): void {
  const page = docs({
    tag: 'admin',
    summary: 'The operations console (an HTML page; its data needs an admin key)',
    responses: { 200: { description: 'The page.', content: { 'text/html': { type: 'string' } } } },
  });
  app.get('/console', { config: page }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').headers(CONSOLE_HEADERS).send(CONSOLE_PAGE),
  );
  const overview = docs({
    tag: 'admin',
    summary: 'What the console shows: models, routes, pipelines, series (admin)',
    errors: ['forbidden'],
    responses: { 200: { description: 'The overview.', content: json(ANY_OBJECT) } },
  });
  app.get('/v1/console/overview', { onRequest: adminOnly, config: overview }, async () =>
    consoleOverview(backend, services, series, tasks?.pipelines() ?? []),
  );
}
