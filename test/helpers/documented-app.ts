import type { FastifyInstance, RouteOptions } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../gateway/app.js';
import { parseConfig } from '../../gateway/config.js';
import { GatewayMetrics } from '../../gateway/metrics/gateway-metrics.js';
import { buildTaskService } from '../../gateway/tasks/build-task-service.js';
import type { TaskService } from '../../gateway/tasks/task-service.js';
import { embeddedMode } from '../../gateway/wiring/serving-mode.js';
import { createMetricsRegistry } from '../../workers/metrics/registry.js';

export interface DocumentedApp {
  readonly app: FastifyInstance;
  readonly url: string;
  /** Every route fastify registered, as its onRoute hook saw them (HEAD twins included). */
  readonly routes: readonly RouteOptions[];
  close(): Promise<void>;
}

/**
 * The gateway's app with every part server.ts gives it (tasks, metrics; embedded mode),
 * and an onRoute hook added before its routes are registered (they are, in a plugin, at ready).
 */
export async function documentedApp(env: Record<string, string>): Promise<DocumentedApp> {
  const config = parseConfig({ PORT: '0', GRPC_PORT: '0', LOG_LEVEL: 'silent', CPU_COUNT: '1', ...env });
  const logger = pino({ level: 'silent' });
  const registry = createMetricsRegistry();
  const mode = embeddedMode(config, logger, registry);
  const gateway = new GatewayMetrics(registry, { breakers: mode.services.breakers });
  const tasks: TaskService = await buildTaskService(config, mode.backend, mode.services, logger);
  const app = buildApp({
    backend: mode.backend,
    services: mode.services,
    tasks,
    lifecycle: { phase: () => 'serving' },
    logger,
    bodyLimit: config.MAX_BODY_BYTES,
    metrics: { registry, gateway },
  });
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => void routes.push(route));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    url,
    routes,
    close: async () => {
      await app.close();
      await tasks.close();
      await mode.close();
    },
  };
}
