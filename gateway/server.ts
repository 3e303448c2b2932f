/**
 * Gateway process entry: validates the environment, then either loads and warms every
 * model in this process (embedded mode, no REDIS_URL) or connects to Redis and queues
 * requests for worker processes (distributed mode), and listens.
 */
import { reviewExplainer } from './explain/review-explain.js';
import type { FastifyInstance } from 'fastify';
import { processLogger } from '../workers/runtime/process-logger.js';
import { createMetricsRegistry } from '../workers/metrics/registry.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { registerStoreMetrics } from './metrics/review-budget-metrics.js';
import { withCostMetrics } from './metrics/metered-ledger.js';
import { registerResponseCacheMetrics } from './metrics/response-cache-metrics.js';
import { buildApp } from './app.js';
import { configFromEnvironment, type SwitchyardConfig } from './config.js';
import { InFlightRequests } from './http/in-flight.js';
import { withAuditFile } from './wiring/policy-services.js';
import { checkRoutes } from './wiring/check-routes.js';
import { loadRepository } from '../workers/repository/load-repository.js';
import { embeddedMode } from './wiring/serving-mode.js';
import type { LifecyclePhase } from './routes/health.js';
import { buildTaskService } from './tasks/build-task-service.js';
import { listenerTls } from './tls/listener-tls.js';
import { tlsFiles } from './tls/tls-files.js';
import { startGrpcServer, type RunningGrpcServer } from './grpc/grpc-server.js';
import type { GrpcFront } from './grpc/grpc-call.js';
import { BodyMemory } from './limits/body-memory.js';
import { pipelineDeps } from './request/pipeline-deps.js';
import { startProcessTracing } from '../workers/tracing/tracing-provider.js';

export interface RunningServer {
  readonly url: string;
  /** host:port of the gRPC front end; undefined with GRPC_PORT=0. */
  readonly grpcAddress?: string;
  /** HTTP requests received and not yet fully answered. */
  inFlight(): number;
  close(): Promise<void>;
}

export async function startServer(config: SwitchyardConfig): Promise<RunningServer> {
  const routeWarnings = await checkEmbeddedRoutes(config);
  const logger = processLogger(config.LOG_LEVEL, { service: 'switchyard-gateway' }, { batched: true });
  for (const warning of routeWarnings) logger.warn(warning);
  // Before the app is built: its tracing hooks are installed only when a tracer is active.
  const tracing = await startProcessTracing(config, 'switchyard-gateway', logger);
  const inFlight = new InFlightRequests();
  let phase: LifecyclePhase = 'starting';
  const lifecycle = { phase: () => phase };
  const tls = listenerTls(config, logger);

  if (config.policy.tenants.length === 0)
    logger.warn({ host: config.HOST }, 'no tenants configured: open to any caller on this loopback address');

  // One registry per gateway: its process metrics, its own families and, in embedded mode, the serving ones.
  const registry = createMetricsRegistry();
  const onWriteError = (error: unknown): void => logger.error({ err: error }, 'policy record write failed');
  const redisUrl = config.REDIS_URL;
  const mode = redisUrl
    ? await (await import('./wiring/distributed-mode.js')).distributedMode({ ...config, REDIS_URL: redisUrl }, logger, onWriteError)
    : embeddedMode(config, logger, registry);
  const policyServices = withAuditFile(mode.services, config.AUDIT_LOG_FILE, onWriteError);
  const gatewayMetrics = new GatewayMetrics(registry, {
    breakers: policyServices.breakers,
    ...(mode.queueDepths ? { queueDepths: mode.queueDepths } : {}),
    ...(mode.coldStarts ? { coldStarts: mode.coldStarts } : {}),
    ...(mode.cancellations ? { cancellations: mode.cancellations } : {}),
  });
  registerStoreMetrics(registry, policyServices);
  registerResponseCacheMetrics(registry, policyServices.responseCache);
  const services = withCostMetrics(policyServices, gatewayMetrics);
  const tasks = await buildTaskService(config, mode.backend, services, logger, mode.redis);
  // One pipeline for both front ends: the same authenticator, rate-limit window and stores.
  const authFailures = { limit: config.AUTH_FAILURE_LIMIT, windowMs: config.AUTH_FAILURE_WINDOW_MS, trustProxy: config.TRUST_PROXY };
  const pipeline = pipelineDeps(mode.backend, services, lifecycle, authFailures, config.CANCEL_ABANDONED === 'on', reviewExplainer);
  const bodyMemory = new BodyMemory(config.BODY_MEMORY_BYTES);
  const app = buildApp({
    backend: mode.backend,
    services,
    tasks,
    ...(mode.deadLetters ? { deadLetters: mode.deadLetters } : {}),
    inFlight,
    lifecycle,
    pipeline,
    logger,
    bodyLimit: config.MAX_BODY_BYTES,
    bodyMemory,
    maxConnections: config.MAX_CONNECTIONS,
    metrics: { registry, gateway: gatewayMetrics },
    tls,
    trustProxy: config.TRUST_PROXY,
  });

  // Listen first, so liveness answers and readiness says "not yet" while models warm up.
  const url = await app.listen({ host: config.HOST, port: config.PORT });
  let grpc: RunningGrpcServer | undefined;
  try {
    grpc = await startGrpc(config, { pipeline, logger, metrics: gatewayMetrics, bodyMemory });
    await mode.load();
  } catch (error) {
    await grpc?.close();
    await app.close();
    await tasks.close();
    await mode.close();
    await tracing?.shutdown();
    throw error;
  }
  phase = 'serving';
  logger.info({ url, grpc: grpc?.address, mode: mode.name, ...mode.details }, 'switchyard gateway ready');
  // New inferences are refused from the start of draining; those in flight are answered
  // and the policy records flushed before the server closes, then the backend drains.
  return running(url, grpc, inFlight, async () => {
    phase = 'draining';
    keepAliveBriefly(app);
    await Promise.all([inFlight.idle(), grpc?.close()]);
    await app.close();
    // Tasks still running finish first: they need the backend to reach the models.
    await tasks.close();
    await Promise.all([services.audit.flush(), services.ledger.flush()]);
    await mode.close();
    await tracing?.shutdown();
  });
}

/** Embedded mode: the routes against the repository this process serves from (distributed mode: the workers decide). */
async function checkEmbeddedRoutes(config: SwitchyardConfig): Promise<string[]> {
  if (config.REDIS_URL || config.policy.routes.length === 0) return [];
  return checkRoutes(config.policy.routes, await loadRepository(config.MODEL_REPOSITORY), {
    file: config.SWITCHYARD_CONFIG ?? 'SWITCHYARD_CONFIG',
    repository: config.MODEL_REPOSITORY,
    ...(config.LOAD_MODELS ? { loaded: config.LOAD_MODELS } : {}),
  });
}

/** While draining, connections close as soon as they go idle instead of lingering for keepAliveTimeout. */
function keepAliveBriefly(app: FastifyInstance): void {
  app.server.keepAliveTimeout = 1;
  app.server.closeIdleConnections();
}

/** The gRPC front end over the same pipeline, unless GRPC_PORT=0; TLS exactly when HTTP has it. */
function startGrpc(config: SwitchyardConfig, front: GrpcFront): Promise<RunningGrpcServer | undefined> {
  if (config.GRPC_PORT === 0) return Promise.resolve(undefined);
  const files = tlsFiles(config);
  return startGrpcServer({
    host: config.GRPC_HOST,
    port: config.GRPC_PORT,
    maxMessageBytes: config.GRPC_MAX_MESSAGE_BYTES,
    maxConcurrentStreams: config.GRPC_MAX_CONCURRENT_STREAMS,
    maxConnections: config.MAX_CONNECTIONS,
    front,
    ...(files ? { tls: { files, reloadIntervalMs: config.TLS_RELOAD_INTERVAL_MS } } : {}),
  });
}

function running(url: string, grpc: RunningGrpcServer | undefined, inFlight: InFlightRequests, drain: () => Promise<void>): RunningServer {
  let closing: Promise<void> | undefined;
  return {
    url,
    ...(grpc ? { grpcAddress: grpc.address } : {}),
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
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // A closed terminal, or a reload habit (nothing reloads: policy changes need a restart): drain, not Node's instant exit.
  process.once('SIGHUP', () => stop('SIGHUP'));
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(`switchyard failed to start: ${(error as Error).message}`);
    process.exit(1);
  });
}
