/**
 * Gateway process entry: validates the environment, then either loads and warms every
 * model in this process (embedded mode, no REDIS_URL) or connects to Redis and queues
 * requests for worker processes (distributed mode), and listens.
 */
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { localModelManager } from '../workers/pool/local-model-manager.js';
import { registerGpuMetrics } from '../workers/metrics/gpu-metrics.js';
import { createMetricsRegistry } from '../workers/metrics/registry.js';
import { ServingMetrics } from '../workers/metrics/serving-metrics.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { registerStoreMetrics } from './metrics/review-budget-metrics.js';
import { withCostMetrics } from './metrics/metered-ledger.js';
import { buildApp } from './app.js';
import { configFromEnvironment, type SwitchyardConfig } from './config.js';
import { InFlightRequests } from './http/in-flight.js';
import { QueueBackend } from './queue/queue-backend.js';
import { memoryPolicyServices, redisPolicyServices, withAuditFile } from './wiring/policy-services.js';
import { servingConnection } from '../workers/queue/redis-connection.js';
import type { LifecyclePhase } from './routes/health.js';
import { buildTaskService } from './tasks/build-task-service.js';
import { listenerTls } from './tls/listener-tls.js';

export interface RunningServer {
  readonly url: string;
  /** HTTP requests received and not yet fully answered. */
  inFlight(): number;
  close(): Promise<void>;
}

export async function startServer(config: SwitchyardConfig): Promise<RunningServer> {
  const logger = pino({ level: config.LOG_LEVEL, base: { service: 'switchyard-gateway' } });
  const inFlight = new InFlightRequests();
  let phase: LifecyclePhase = 'starting';
  const lifecycle = { phase: () => phase };
  const tls = listenerTls(config, logger);

  if (config.policy.tenants.length === 0) logger.warn({ host: config.HOST }, 'no tenants configured: open to any caller on this loopback address');

  // One registry per gateway: its process metrics, its own families and, in embedded mode, the serving ones.
  const registry = createMetricsRegistry();

  if (config.REDIS_URL) {
    // Distributed mode: workers run the models; this process only queues and answers.
    const backend = await QueueBackend.start(config, logger);
    const policyRedis = servingConnection(config.REDIS_URL, 'switchyard-gateway-policy');
    const onWriteError = (error: unknown): void => logger.error({ err: error }, 'policy record write failed');
    const policyServices = withAuditFile(redisPolicyServices(config.policy, policyRedis, config.REDIS_PREFIX, onWriteError), config.AUDIT_LOG_FILE, onWriteError);
    const gatewayMetrics = new GatewayMetrics(registry, { breakers: policyServices.breakers, queueDepths: () => backend.queueDepths() });
    registerStoreMetrics(registry, policyServices);
    const services = withCostMetrics(policyServices, gatewayMetrics);
    const tasks = await buildTaskService(config, backend, services, logger, policyRedis);
    const app = buildApp({ backend, services, tasks, deadLetters: backend.deadLetters, inFlight, lifecycle, logger, bodyLimit: config.MAX_BODY_BYTES, metrics: { registry, gateway: gatewayMetrics }, tls });
    const url = await app.listen({ host: config.HOST, port: config.PORT });
    phase = 'serving';
    logger.info({ url, mode: 'distributed', gateway: backend.gatewayId }, 'switchyard gateway ready');
    return running(url, inFlight, async () => {
      phase = 'draining';
      keepAliveBriefly(app);
      await inFlight.idle();
      await app.close();
      // Tasks still running finish first: they need the backend to reach the workers.
      await tasks.close();
      await Promise.all([services.audit.flush(), services.ledger.flush()]);
      await backend.close();
      await policyRedis.quit().catch(() => undefined);
    });
  }

  registerGpuMetrics(registry);
  const manager = localModelManager(config, logger, new ServingMetrics(registry));
  const policyServices = withAuditFile(memoryPolicyServices(config.policy), config.AUDIT_LOG_FILE, (error) => logger.error({ err: error }, 'audit file write failed'));
  const gatewayMetrics = new GatewayMetrics(registry, { breakers: policyServices.breakers });
  registerStoreMetrics(registry, policyServices);
  const services = withCostMetrics(policyServices, gatewayMetrics);
  const tasks = await buildTaskService(config, manager, services, logger);
  const app = buildApp({ backend: manager, services, tasks, inFlight, lifecycle, logger, bodyLimit: config.MAX_BODY_BYTES, metrics: { registry, gateway: gatewayMetrics }, tls });

  // Listen first, so liveness answers and readiness says "not yet" while models warm up.
  const url = await app.listen({ host: config.HOST, port: config.PORT });
  try {
    await manager.loadAll(config.LOAD_MODELS);
  } catch (error) {
    await app.close();
    await manager.close();
    throw error;
  }
  phase = 'serving';
  logger.info({ url, mode: 'embedded', repository: config.MODEL_REPOSITORY }, 'switchyard ready');
  // New inferences are refused from the start of draining; those in flight are answered
  // and flushed before the server closes, then the models drain.
  return running(url, inFlight, async () => {
    phase = 'draining';
    keepAliveBriefly(app);
    await inFlight.idle();
    await app.close();
    await tasks.close();
    await services.audit.flush();
    await manager.close();
  });
}

/** While draining, connections close as soon as they go idle instead of lingering for keepAliveTimeout. */
function keepAliveBriefly(app: FastifyInstance): void {
  app.server.keepAliveTimeout = 1;
  app.server.closeIdleConnections();
}

function running(url: string, inFlight: InFlightRequests, drain: () => Promise<void>): RunningServer {
  let closing: Promise<void> | undefined;
  return {
    url,
    inFlight: () => inFlight.count,
    close: () => {
      closing ??= drain();
      return closing;
    },
  };
}

async function main(): Promise<void> {
  const config = configFromEnvironment();
  const server = await startServer(config);
  const stop = (signal: string): void => {
    const timer = setTimeout(() => {
      console.error(`switchyard: still draining after ${config.SHUTDOWN_GRACE_MS} ms; exiting`);
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS);
    timer.unref();
    console.error(`switchyard: ${signal}, draining`);
    server.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(`switchyard failed to start: ${(error as Error).message}`);
    process.exit(1);
  });
}
