import type { FastifyInstance } from 'fastify';
import { assertAdmin } from '../auth/authorize.js';
import { consoleOverview } from '../console/console-overview.js';
import { CONSOLE_HEADERS } from '../console/console-headers.js';
import { CONSOLE_PAGE } from '../console/console-page.js';
import type { ConsoleSeries } from '../console/console-series.js';
import type { PolicyServices } from '../wiring/policy-services.js';
import type { ServingBackend } from '../serving-backend.js';
import type { TaskService } from '../tasks/task-service.js';

/** GET /console (the page; its data needs an admin key) and the overview it polls. */
export function consoleRoutes(app: FastifyInstance, backend: ServingBackend, services: PolicyServices, series: ConsoleSeries, tasks?: TaskService): void {
  app.get('/console', async (_request, reply) => reply.type('text/html; charset=utf-8').headers(CONSOLE_HEADERS).send(CONSOLE_PAGE));
  app.get('/v1/console/overview', async (request) => {
    assertAdmin(request.tenant);
    return consoleOverview(backend, services, series, tasks?.pipelines() ?? []);
  });
}
