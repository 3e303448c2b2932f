import type { Logger } from 'pino';
import type { ModelConfig } from '../repository/model-config.js';
import type { InstanceFactory } from './runtime.js';
import { TfInstance } from './tf/tf-instance.js';
import { startThread, ThreadInstance } from './thread-instance.js';

/** The runtime for each model platform; each instance is a thread of that runtime. */
export function instanceFactoryFor(logger: Logger): (platform: ModelConfig['platform']) => InstanceFactory {
  const skippedLogged = (label: string, skipped: readonly string[]): void => {
    if (skipped.length > 0) logger.info({ instance: label, skipped }, 'execution providers skipped');
  };
  return (platform) => {
    switch (platform) {
      case 'onnx':
        return async (spec) => {
          const loaded = await startThread(spec, 'onnx/onnx-thread');
          skippedLogged(spec.label, loaded.skipped);
          return new ThreadInstance(loaded);
        };
      case 'tf':
        return async (spec) => {
          const { instance, skipped } = await TfInstance.start(spec);
          skippedLogged(spec.label, skipped);
          return instance;
        };
    }
  };
}
