import { ATTRIBUTE_INT, ONNX_FLOAT, encodeModel, floatInitializer, valueInfo, type NodeProto } from '../onnx/onnx-model.js';
import { seededRandom } from './seeded-random.js';

/**
 * Models whose answers depend only on known parts of their input, so tests can check that an
 * explanation ranks those parts first (gateway/explain/).
 */

/** The only features the linear model weighs, and their weights. */
export const LINEAR_FEATURES: Readonly<Record<number, number>> = { 3: 2.5, 17: -1.75, 29: 1.5, 42: 3, 58: -2 };
export const LINEAR_WIDTH = 64;

/** score = Σ w_i x_i over five of 64 features. */
export function buildSparseLinear(): Uint8Array {
  const weights = new Float32Array(LINEAR_WIDTH);
  for (const [index, weight] of Object.entries(LINEAR_FEATURES)) weights[Number(index)] = weight;
  const nodes: NodeProto[] = [{ opType: 'Gemm', name: 'linear', input: ['features', 'w', 'b'], output: ['score'] }];
  return encodeModel({
    irVersion: 8,
    producerName: 'switchyard',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'sparse-linear',
      node: nodes,
      initializer: [floatInitializer('w', [LINEAR_WIDTH, 1], weights), floatInitializer('b', [1], new Float32Array([0.25]))],
      input: [valueInfo('features', ONNX_FLOAT, ['batch', LINEAR_WIDTH])],
      output: [valueInfo('score', ONNX_FLOAT, ['batch', 1])],
    },
  });
}

/** The quadrant model's image: 3 × 32 × 32 (NCHW); it looks at rows and columns 0–15 only. */
export const QUADRANT = { channels: 3, size: 32, seen: 16 } as const;

/** Two classes (dark, bright) from a weighted sum of the top-left quadrant's pixels; the rest is weighed 0. */
export function buildQuadrantImage(): Uint8Array {
  const { channels, size, seen } = QUADRANT;
  const random = seededRandom(20261206);
  const features = channels * size * size;
  const weights = new Float32Array(features * 2);
  for (let c = 0; c < channels; c += 1) {
    for (let y = 0; y < seen; y += 1) {
      for (let x = 0; x < seen; x += 1) {
        const weight = (0.5 + random()) * (24 / (channels * seen * seen));
        const index = (c * size + y) * size + x;
        weights[index * 2] = -weight;
        weights[index * 2 + 1] = weight;
      }
    }
  }
  const nodes: NodeProto[] = [
    { opType: 'Flatten', name: 'flatten', input: ['image'], output: ['flat'], attribute: [{ name: 'axis', type: ATTRIBUTE_INT, i: 1 }] },
    { opType: 'Gemm', name: 'classify', input: ['flat', 'w', 'b'], output: ['logits'] },
    {
      opType: 'Softmax',
      name: 'softmax',
      input: ['logits'],
      output: ['probabilities'],
      attribute: [{ name: 'axis', type: ATTRIBUTE_INT, i: -1 }],
    },
  ];
  return encodeModel({
    irVersion: 8,
    producerName: 'switchyard',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'quadrant-image',
      node: nodes,
      initializer: [floatInitializer('w', [features, 2], weights), floatInitializer('b', [2], new Float32Array([12, -12]))],
      input: [valueInfo('image', ONNX_FLOAT, ['batch', channels, size, size])],
      output: [valueInfo('probabilities', ONNX_FLOAT, ['batch', 2])],
    },
  });
}
