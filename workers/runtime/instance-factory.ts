import type { Logger } from 'pino';
import type { ModelConfig } from '../repository/model-config.js';
import { OnnxInstance } from './onnx/onnx-instance.js';
import type { InstanceFactory } from './runtime.js';

/** The runtime for each model platform. */
export function instanceFactoryFor(logger: Logger): (platform: ModelConfig['platform']) => InstanceFactory {
  return (platform) => {
    switch (platform) {
      case 'onnx':
        return async (spec) => {
          const { instance, skipped } = await OnnxInstance.start(spec);
          if (skipped.length > 0) logger.info({ instance: spec.label, skipped }, 'execution providers skipped');
          return instance;
        };
    }
  };
}
