import type { Logger } from 'pino';
import type { SharedConfig } from '../config.js';
import type { ServingMetrics } from '../metrics/serving-metrics.js';
import { instanceFactoryFor } from '../runtime/instance-factory.js';
import { ModelManager } from './model-manager.js';

/** The ModelManager a process builds from its settings: the same in an embedded gateway and a worker. */
export function localModelManager(config: SharedConfig, logger: Logger, metrics?: ServingMetrics): ModelManager {
  return new ModelManager({
    repository: config.MODEL_REPOSITORY,
    createInstance: instanceFactoryFor(logger),
    cpuCount: config.CPU_COUNT,
    maxImagePixels: config.MAX_IMAGE_PIXELS,
    maxAudioSeconds: config.MAX_AUDIO_SECONDS,
    logger,
    ...(metrics ? { metrics } : {}),
  });
}
