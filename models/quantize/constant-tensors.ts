import { ONNX_TYPE, toNumber, type GraphMessage, type TensorMessage } from './onnx-types.js';

export interface FloatConstant {
  readonly dims: number[];
  readonly values: Float32Array;
}

/** Float values of a FLOAT tensor message (raw_data little-endian or float_data). */
export function floatValues(tensor: TensorMessage): Float32Array | undefined {
  if (tensor.dataType !== ONNX_TYPE.FLOAT) return undefined;
  if (tensor.rawData && tensor.rawData.byteLength > 0) {
    const copy = new Uint8Array(tensor.rawData);
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
  return Float32Array.from(tensor.floatData ?? []);
}

/**
 * The graph's constant float tensors by name: initializers, and the outputs of Constant
 * nodes (exporters such as Paddle2ONNX keep every weight in one).
 */
export function floatConstants(graph: GraphMessage): Map<string, FloatConstant> {
  const constants = new Map<string, FloatConstant>();
  const add = (name: string | undefined, tensor: TensorMessage | undefined): void => {
    if (!name || !tensor) return;
    const values = floatValues(tensor);
    if (values) constants.set(name, { dims: (tensor.dims ?? []).map(toNumber), values });
  };
  for (const initializer of graph.initializer) add(initializer.name, initializer);
  for (const node of graph.node) {
    if (node.opType !== 'Constant' || (node.domain ?? '') !== '') continue;
    add(node.output[0], node.attribute.find((attribute) => attribute.name === 'value')?.t);
  }
  return constants;
}

export function int8Initializer(name: string, dims: readonly number[], values: Int8Array): TensorMessage {
  return { name, dims: [...dims], dataType: ONNX_TYPE.INT8, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

export { floatInitializer } from '../onnx/onnx-model.js';

/** Drops constants nothing reads any more (the fp32 weights that were replaced). */
export function dropUnusedConstants(graph: GraphMessage): void {
  const read = new Set(graph.node.flatMap((node) => node.input));
  for (const output of graph.output) if (output.name) read.add(output.name);
  graph.initializer = graph.initializer.filter((initializer) => read.has(initializer.name ?? ''));
  graph.node = graph.node.filter((node) => node.opType !== 'Constant' || node.output.some((output) => read.has(output)));
  const inputs = new Set(graph.initializer.map((initializer) => initializer.name));
  // Initializers listed as graph inputs (IR < 4 style) go with them.
  graph.input = graph.input.filter((input) => read.has(input.name ?? '') || !inputs.has(input.name));
}
