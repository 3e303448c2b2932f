import {
  ATTRIBUTE_INT,
  ONNX_FLOAT,
  encodeModel,
  floatInitializer,
  valueInfo,
  type NodeProto,
  type TensorProto,
} from '../onnx/onnx-model.js';
import { normalSamples, seededRandom } from './seeded-random.js';

export interface MlpShape {
  /** Layer widths from input to output, e.g. [512, 1024, 1024, 10]. */
  readonly layers: readonly number[];
  readonly seed: number;
  readonly inputName: string;
  readonly outputName: string;
}

export const DEMO_MLP: MlpShape = { layers: [512, 1024, 1024, 10], seed: 20261122, inputName: 'input', outputName: 'probabilities' };

/**
 * A classifier MLP: Gemm+Relu hidden layers, a Gemm to logits, then Softmax.
 * Weights are He-initialised from a fixed seed, so every build is byte-identical.
 */
export function buildMlp(shape: MlpShape): Uint8Array {
  const random = seededRandom(shape.seed);
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  let current = shape.inputName;
  for (let layer = 0; layer < shape.layers.length - 1; layer += 1) {
    const fanIn = shape.layers[layer]!;
    const fanOut = shape.layers[layer + 1]!;
    const weight = `w${layer}`;
    const bias = `b${layer}`;
    initializers.push(floatInitializer(weight, [fanIn, fanOut], normalSamples(random, fanIn * fanOut, Math.sqrt(2 / fanIn))));
    initializers.push(floatInitializer(bias, [fanOut], normalSamples(random, fanOut, 0.01)));
    const isLast = layer === shape.layers.length - 2;
    const gemmOut = isLast ? 'logits' : `gemm${layer}`;
    nodes.push({ opType: 'Gemm', name: `gemm${layer}`, input: [current, weight, bias], output: [gemmOut] });
    if (!isLast) {
      nodes.push({ opType: 'Relu', name: `relu${layer}`, input: [gemmOut], output: [`relu${layer}`] });
      current = `relu${layer}`;
    } else {
      current = gemmOut;
    }
  }
  nodes.push({
    opType: 'Softmax',
    name: 'softmax',
    input: [current],
    output: [shape.outputName],
    attribute: [{ name: 'axis', type: ATTRIBUTE_INT, i: -1 }],
  });
  return encodeModel({
    irVersion: 8,
    producerName: 'switchyard',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'mlp',
      node: nodes,
      initializer: initializers,
      input: [valueInfo(shape.inputName, ONNX_FLOAT, ['batch', shape.layers[0]!])],
      output: [valueInfo(shape.outputName, ONNX_FLOAT, ['batch', shape.layers[shape.layers.length - 1]!])],
    },
  });
}
