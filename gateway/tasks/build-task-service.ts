import type { Logger } from 'pino';
import { loadRepository } from '../../workers/repository/load-repository.js';
import type { SwitchyardConfig } from '../config.js';
import { checkStepOverrides } from '../pipelines/check-step-overrides.js';
import { loadPipelines } from '../pipelines/load-pipelines.js';
import { builtInTransforms } from '../pipelines/transforms/built-in.js';
import type { PolicyServices } from '../wiring/policy-services.js';
import type { ServingBackend } from '../serving-backend.js';
import { CallbackGuard } from './callback-guard.js';
import type { CallbackSender } from './callback-sender.js';
import { LocalCallbackSender } from './local-callback-sender.js';
import type { QueueCallbackSenderOptions } from './queue-callback-sender.js';
import { LocalTaskDispatcher } from './local-task-dispatcher.js';
import { MemoryTaskStore } from './memory-task-store.js';
import { RedisTaskStore } from './redis-task-store.js';
import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { TaskAdmission } from './task-admission.js';
import type { TaskDispatcher } from './task-dispatcher.js';
import { TaskExecutor } from './task-executor.js';
import { TaskService } from './task-service.js';

/**
 * The Task API's parts for this mode: tasks in memory and run in process (embedded),
 * or in Redis and run through a queue every gateway drains (distributed).
 */
export async function buildTaskService(
  config: SwitchyardConfig,
  backend: ServingBackend,
  services: PolicyServices,
  logger: Logger,
  redis?: RedisClient,
): Promise<TaskService> {
  const transforms = builtInTransforms({
    maxImagePixels: config.MAX_IMAGE_PIXELS,
    maxAudioSeconds: config.MAX_AUDIO_SECONDS,
    decodedImageBytes: config.DECODED_IMAGE_BYTES,
  });
  const models = await loadRepository(config.MODEL_REPOSITORY);
  const pipelines = new Map(
    (await loadPipelines(config.MODEL_REPOSITORY, models, transforms, config.policy.routes)).map((p) => [p.name, p]),
  );
  checkStepOverrides(pipelines, transforms, config.policy.tenants);
  // Whole milliseconds: Redis refuses a fractional PX (1.1 h is 3960000.0000000005 ms in floating point).
  const retentionMs = Math.round(config.TASK_RETENTION_HOURS * 3_600_000);
  const store = redis ? new RedisTaskStore(redis, config.REDIS_PREFIX, retentionMs) : new MemoryTaskStore(retentionMs);
  const open = config.policy.tenants.length === 0;
  const callbackSecret = (tenant: string): string | undefined =>
    open ? config.CALLBACK_SECRET : config.policy.tenants.find((candidate) => candidate.name === tenant)?.callbackSecret;
  const callbackGuard = new CallbackGuard(config.policy, config.CALLBACK_TIMEOUT_MS);
  const callbackPolicy = {
    attempts: config.CALLBACK_ATTEMPTS,
    backoffMs: config.CALLBACK_BACKOFF_MS,
    timeoutMs: config.CALLBACK_TIMEOUT_MS,
    guard: callbackGuard,
    logger,
  };
  const senderOptions = { store, secret: callbackSecret, policy: callbackPolicy, concurrency: config.CALLBACK_CONCURRENCY, logger };
  const callbacks = redis ? await queueCallbackSender(senderOptions, config) : new LocalCallbackSender(senderOptions);
  const executor = new TaskExecutor({ store, pipelines, backend, transforms, services, callbacks, logger });
  const dispatcher = redis
    ? await queueDispatcher(executor, config, logger)
    : new LocalTaskDispatcher(executor, config.TASK_CONCURRENCY, logger);
  if (pipelines.size > 0) logger.info({ pipelines: [...pipelines.keys()] }, 'pipelines loaded');
  const batch = { maxItems: config.TASK_BATCH_MAX_ITEMS, admission: new TaskAdmission(config.TASK_BATCH_MAX_PENDING) };
  return new TaskService({
    pipelines,
    store,
    executor,
    dispatcher,
    callbacks,
    services,
    backend,
    transforms,
    callbackSecret,
    callbackGuard,
    batch,
  });
}

/** Callbacks through a queue every gateway drains (BullMQ loaded here only, as for the task queue). */
async function queueCallbackSender(
  options: Omit<QueueCallbackSenderOptions, 'connect' | 'prefix' | 'lockDurationMs' | 'stalledIntervalMs'>,
  config: SwitchyardConfig,
): Promise<CallbackSender> {
  const [{ QueueCallbackSender }, { redisConnection }] = await Promise.all([
    import('./queue-callback-sender.js'),
    import('../../workers/queue/redis-connection.js'),
  ]);
  return new QueueCallbackSender({
    ...options,
    connect: (name) => redisConnection(config, 'durable', name),
    prefix: config.REDIS_PREFIX,
    lockDurationMs: config.TASK_LOCK_DURATION_MS,
    stalledIntervalMs: config.TASK_STALLED_INTERVAL_MS,
  });
}

/** Tasks through a queue every gateway drains; BullMQ and ioredis are loaded here, so an embedded gateway never loads them. */
async function queueDispatcher(executor: TaskExecutor, config: SwitchyardConfig, logger: Logger): Promise<TaskDispatcher> {
  const [{ QueueTaskDispatcher }, { redisConnection }] = await Promise.all([
    import('./queue-task-dispatcher.js'),
    import('../../workers/queue/redis-connection.js'),
  ]);
  return new QueueTaskDispatcher(executor, {
    connect: (name) => redisConnection(config, 'durable', name),
    prefix: config.REDIS_PREFIX,
    concurrency: config.TASK_CONCURRENCY,
    lockDurationMs: config.TASK_LOCK_DURATION_MS,
    stalledIntervalMs: config.TASK_STALLED_INTERVAL_MS,
    logger,
  });
}
