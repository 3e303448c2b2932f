import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { registerGpuMetrics } from '../../workers/metrics/gpu-metrics.js';
import { ServingMetrics } from '../../workers/metrics/serving-metrics.js';
import { localModelManager } from '../../workers/pool/local-model-manager.js';
import { loadAndFollow, modelManagerPoller } from '../../workers/pool/poll-mode.js';
import { RepositoryPoller } from '../../workers/repository/repository-poller.js';
import type { DeadLetters } from '../../workers/queue/dead-letters.js';
import { redisConnection, whenReady, type RedisClient } from '../../workers/queue/redis-connection.js';
import type { SwitchyardConfig } from '../config.js';
import { QueueBackend } from '../queue/queue-backend.js';
import type { ServingBackend } from '../serving-backend.js';
import { memoryPolicyServices, redisPolicyServices, type PolicyServices } from './policy-services.js';

/** What differs between the two modes; server.ts does the rest the same way for both. */
export interface ServingMode {
  readonly name: 'embedded' | 'distributed';
  readonly backend: ServingBackend;
  readonly services: PolicyServices;
  /** Distributed mode: the connection the task store shares with the policy stores. */
  readonly redis?: RedisClient;
  readonly deadLetters?: DeadLetters;
  readonly queueDepths?: () => readonly { queue: string; depth: number }[];
  readonly coldStarts?: QueueBackend['coldStarts'];
  readonly cancellations?: QueueBackend['cancellations'];
  /** For the "ready" log line. */
  readonly details: Record<string, unknown>;
  /** Loads and warms the models this process serves (embedded); nothing to do when workers serve them. */
  load(): Promise<void>;
  /** After the HTTP server and the tasks have stopped, and the policy records are flushed. */
  close(): Promise<void>;
}

/** Embedded mode: models in worker threads of this process, policy state in memory. */
export function embeddedMode(config: SwitchyardConfig, logger: Logger, registry: Registry): ServingMode {
  registerGpuMetrics(registry);
  const manager = localModelManager(config, logger, new ServingMetrics(registry));
  const poller = modelManagerPoller(config, manager, logger);
  return {
    name: 'embedded',
    backend: manager,
    services: memoryPolicyServices(config.policy),
    details: { repository: config.MODEL_REPOSITORY, modelControl: config.MODEL_CONTROL },
    load: () => loadAndFollow(manager, poller, config.LOAD_MODELS),
    close: async () => {
      await poller?.stop();
      await manager.close();
    },
  };
}

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
