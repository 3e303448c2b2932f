/**
 * Worker process entry (`npm run worker`): loads and warms its models, announces them,
 * then drains their queues. On SIGTERM it stops taking jobs, finishes the ones in
 * hand, withdraws its announcement and exits within SHUTDOWN_GRACE_MS.
 */
import { hostname } from 'node:os';
import { processLogger } from './runtime/process-logger.js';
import { startProcessTracing } from './tracing/tracing-provider.js';
import { workerConfigFromEnvironment, type WorkerConfig } from './config.js';
import { registerGpuMetrics } from './metrics/gpu-metrics.js';
import { startMetricsServer, type MetricsServer } from './metrics/metrics-server.js';
import { createMetricsRegistry } from './metrics/registry.js';
import { ServingMetrics } from './metrics/serving-metrics.js';
import { localModelManager } from './pool/local-model-manager.js';
import { ModelState } from './pool/model-state.js';
import { modelManagerPoller } from './pool/poll-mode.js';
import { QueueConsumer } from './queue/consumer.js';
import { Heartbeat } from './queue/heartbeat.js';
import { redisConnection } from './queue/redis-connection.js';

export interface RunningWorker {
  close(): Promise<void>;
}

export async function startWorker(config: WorkerConfig): Promise<RunningWorker> {
  const logger = processLogger(config.LOG_LEVEL, { service: 'switchyard-worker', worker: config.WORKER_ID });
  const tracing = await startProcessTracing(config, 'switchyard-worker', logger);
  const redis = redisConnection(config, 'durable', `switchyard-worker-${config.WORKER_ID}`);
  // The serving metrics live where the ModelManager runs: here, in distributed mode.
  const registry = createMetricsRegistry();
  registerGpuMetrics(registry);
  const metrics = new ServingMetrics(registry);
  const manager = localModelManager(config, logger, metrics);
  let consumer: QueueConsumer | undefined;
  // Poll mode: versions loaded or removed at run time gain or lose their queue consumers.
  const poller = modelManagerPoller(config, manager, logger, config.WORKER_POOLS, async () => consumer?.sync());
  // Ready (GET /ready) only while consuming with every version warm: not while loading, not while
  // draining, not with a model FAILED (a rollout of a broken model stops at its first pod).
  let consuming = false;
  const ready = (): boolean => {
    const versions = manager.versionStates();
    return consuming && versions.length > 0 && versions.every(({ state }) => state === ModelState.READY);
  };
  // Listening before the models load, so load durations and process metrics can be scraped meanwhile.
  // A port already taken (several workers on one host with the default) costs the metrics, not the serving.
  const metricsServer: MetricsServer | undefined =
    config.METRICS_PORT > 0
      ? await startMetricsServer(registry, config.METRICS_HOST, config.METRICS_PORT, ready).catch((error: unknown) => {
          logger.error(
            { err: error, port: config.METRICS_PORT },
            'metrics listener failed to start; serving without /metrics (set METRICS_PORT per worker)',
          );
          return undefined;
        })
      : undefined;
  if (metricsServer) logger.info({ port: metricsServer.port, host: config.METRICS_HOST }, 'metrics listening');
  const startedAt = Date.now();
  const heartbeat = new Heartbeat({
    redis,
    prefix: config.REDIS_PREFIX,
    periodMs: config.HEARTBEAT_MS,
    logger,
    announce: () => ({
      id: config.WORKER_ID,
      host: hostname(),
      pid: process.pid,
      startedAt,
      versions: manager.versionStates(),
      statistics: manager.statistics(),
      ...(config.WORKER_CONCURRENCY !== undefined ? { concurrency: config.WORKER_CONCURRENCY } : {}),
    }),
  });
  // Beat while loading too: gateways then see the models as LOADING, not missing.
  heartbeat.start();
  try {
    // Primed before the load, so a change made while the models warm is seen by the first scans.
    await poller?.prime();
    // A model that fails to load stays announced FAILED (gateways refuse it at once) rather than the
    // process exiting: a crash-looping pool would look cold, and its requests would wait for it.
    await manager.loadAll(config.LOAD_MODELS, config.WORKER_POOLS, { keepGoing: true });
  } catch (error) {
    await heartbeat.stop(config.WORKER_ID).catch(() => undefined);
    await manager.close();
    await metricsServer?.close();
    redis.disconnect();
    throw error;
  }
  consumer = new QueueConsumer({
    workerId: config.WORKER_ID,
    manager,
    connect: (name) => redisConnection(config, 'durable', name),
    prefix: config.REDIS_PREFIX,
    redis,
    lockDurationMs: config.LOCK_DURATION_MS,
    stalledIntervalMs: config.STALLED_INTERVAL_MS,
    engine: config.QUEUE_ENGINE,
    attempts: config.JOB_ATTEMPTS,
    backoffMs: config.RETRY_BACKOFF_MS,
    ...(config.WORKER_CONCURRENCY !== undefined ? { concurrency: config.WORKER_CONCURRENCY } : {}),
    logger,
    metrics,
  });
  consumer.start();
  poller?.start();
  consuming = true;
  await heartbeat.beat();
  const failed = manager.failed();
  if (failed.length > 0) logger.error({ failed }, 'worker consuming, with models that failed to load (announced FAILED; /ready stays 503)');
  else logger.info({ models: manager.versionStates() }, 'worker ready');

  let closing: Promise<void> | undefined;
  return {
    close: () => {
      closing ??= (async () => {
        consuming = false;
        await poller?.stop();
        await heartbeat.stop(config.WORKER_ID).catch(() => undefined);
        await consumer!.close();
        await manager.close();
        await metricsServer?.close();
        await redis.quit().catch(() => undefined);
        await tracing?.shutdown();
        logger.info('worker stopped');
      })();
      return closing;
    },
  };
}

async function main(): Promise<void> {
  const config = workerConfigFromEnvironment();
  const worker = await startWorker(config);
  const stop = (signal: string): void => {
    setTimeout(() => {
      console.error(
        `switchyard worker: jobs still running after ${config.SHUTDOWN_GRACE_MS} ms; exiting (their locks expire and another worker takes them)`,
      );
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS).unref();
    console.error(`switchyard worker: ${signal}, finishing jobs in hand`);
    worker.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // A closed terminal, or a reload habit (nothing reloads): finish the jobs in hand, not Node's instant exit.
  process.once('SIGHUP', () => stop('SIGHUP'));
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(`switchyard worker failed to start: ${(error as Error).message}`);
    process.exit(1);
  });
}
