/**
 * Distributed mode's wiring, loaded by server.ts only when REDIS_URL is set, so the queue engines,
 * BullMQ and ioredis (some 300 modules) stay out of an embedded gateway's start-up and heap.
 */
import type { Logger } from 'pino';
import { RepositoryPoller } from '../../workers/repository/repository-poller.js';
import { redisConnection, whenReady } from '../../workers/queue/redis-connection.js';
import type { SwitchyardConfig } from '../config.js';
import { QueueBackend } from '../queue/queue-backend.js';
import { redisPolicyServices } from './policy-services.js';
import type { ServingMode } from './serving-mode.js';

/** Distributed mode: workers run the models; this process only queues and answers; policy state in Redis. */
export async function distributedMode(
  config: SwitchyardConfig & { REDIS_URL: string },
  logger: Logger,
  onWriteError: (error: unknown) => void,
): Promise<ServingMode> {
  // Primed before the backend reads the repository, so a change made meanwhile is seen by the first scans.
  let backend: QueueBackend | undefined;
  const poller = config.MODEL_CONTROL === 'poll' ? routingPoller(config, () => backend!, logger) : undefined;
  await poller?.prime();
  backend = await QueueBackend.start(config, logger);
  poller?.start();
  const redis = redisConnection(config, 'serving', 'switchyard-gateway-policy');
  // It refuses commands until connected (it fails fast by design): let it connect before listening.
  await whenReady(redis, 5_000);
  return {
    name: 'distributed',
    backend,
    services: redisPolicyServices(config.policy, redis, config.REDIS_PREFIX, onWriteError),
    redis,
    deadLetters: backend.deadLetters,
    queueDepths: () => backend.queueDepths(),
    coldStarts: backend.coldStarts,
    cancellations: backend.cancellations,
    details: { gateway: backend.gatewayId, modelControl: config.MODEL_CONTROL },
    load: async () => undefined,
    close: async () => {
      await poller?.stop();
      await backend.close();
      await redis.quit().catch(() => undefined);
    },
  };
}

/** Poll mode in a distributed gateway: the routing table follows the repository; the workers load the models. */
function routingPoller(config: SwitchyardConfig, backend: () => QueueBackend, logger: Logger): RepositoryPoller {
  return new RepositoryPoller({
    repository: config.MODEL_REPOSITORY,
    intervalMs: config.MODEL_CONTROL_POLL_MS,
    logger,
    models: { load: (name) => backend().refreshDefinition(name), removed: (name) => backend().forgetDefinition(name) },
    ...(config.LOAD_MODELS ? { only: config.LOAD_MODELS } : {}),
  });
}
