import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { registerGpuMetrics } from '../../workers/metrics/gpu-metrics.js';
import { ServingMetrics } from '../../workers/metrics/serving-metrics.js';
import { localModelManager } from '../../workers/pool/local-model-manager.js';
import { loadAndFollow, modelManagerPoller } from '../../workers/pool/poll-mode.js';
import type { DeadLetters } from '../../workers/queue/dead-letters.js';
import type { RedisClient } from '../../workers/queue/redis-connection.js';
import type { SwitchyardConfig } from '../config.js';
import type { QueueBackend } from '../queue/queue-backend.js';
import type { ServingBackend } from '../serving-backend.js';
import { memoryPolicyServices, type PolicyServices } from './policy-services.js';

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
