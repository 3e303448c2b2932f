import type { Logger } from 'pino';
import type { SharedConfig } from '../config.js';
import { readModelDefinition } from '../repository/load-repository.js';
import { RepositoryPoller } from '../repository/repository-poller.js';
import type { ModelManager } from './model-manager.js';

/**
 * MODEL_CONTROL=poll: a poller that loads repository changes into this process's models
 * (a worker passes its pools); undefined in explicit mode.
 */
export function modelManagerPoller(
  config: SharedConfig,
  manager: ModelManager,
  logger: Logger,
  pools?: readonly string[],
  /** After each load or unload, failed or not (a worker consumes the queues of the versions it now has). */
  changed: () => Promise<void> = async () => undefined,
): RepositoryPoller | undefined {
  if (config.MODEL_CONTROL !== 'poll') return undefined;
  return new RepositoryPoller({
    repository: config.MODEL_REPOSITORY,
    intervalMs: config.MODEL_CONTROL_POLL_MS,
    logger,
    models: {
      load: (name) => manager.load(name).finally(changed),
      removed: (name) => manager.removed(name).finally(changed),
    },
    ...(config.LOAD_MODELS ? { only: config.LOAD_MODELS } : {}),
    ...(pools
      ? {
          // A config that does not read is loaded (so its error shows) only by a process that serves the model.
          wanted: async (name: string) => {
            const definition = await readModelDefinition(config.MODEL_REPOSITORY, name).catch(() => undefined);
            return definition ? pools.includes(definition.config.pool) : manager.definition(name) !== undefined;
          },
        }
      : {}),
  });
}

/** Loads and warms the models at start-up, then (poll mode) follows the repository. */
export async function loadAndFollow(
  manager: ModelManager,
  poller: RepositoryPoller | undefined,
  only?: readonly string[],
  pools?: readonly string[],
): Promise<void> {
  // Primed before the load, so a change made while the models warm is seen by the first scans.
  await poller?.prime();
  await manager.loadAll(only, pools);
  poller?.start();
}
