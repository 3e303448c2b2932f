import { TensorDataType, encodeModel, int64Initializer, valueInfo } from '../../models/onnx/onnx-model.js';

/**
 * A model that loads and warms up (at batch sizes divisible by 3) but fails at run time
 * for a batch of one: it reshapes its [N,4] input to [-1,3]. A real runtime failure,
 * for retry and dead-letter tests.
 */
export function buildReshapeModel(): Uint8Array {
  return encodeModel({
    irVersion: 8,
    producerName: 'switchyard-test',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'reshape',
      node: [{ opType: 'Reshape', name: 'reshape', input: ['x', 'shape'], output: ['y'] }],
      initializer: [int64Initializer('shape', [2], new BigInt64Array([-1n, 3n]))],
      input: [valueInfo('x', TensorDataType.FLOAT, ['batch', 4])],
      output: [valueInfo('y', TensorDataType.FLOAT, ['rows', 3])],
    },
  });
}

export const RESHAPE_CONFIG = {
  platform: 'onnx',
  versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
  max_batch_size: 6,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [3] }],
  warmup: { enabled: true, batch_sizes: [3, 6] },
  price: { usd_per_compute_second: 0 },
};
