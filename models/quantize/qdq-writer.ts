import { floatInitializer, floatValues, int8Initializer, type FloatConstant } from './constant-tensors.js';
import { int8Activation, type TensorRange } from './calibrate.js';
import type { ElementwiseContext, QuantizedTensor } from './quantize-elementwise.js';
import { ATTRIBUTE_TYPE, ONNX_TYPE, type GraphMessage, type NodeMessage, type TensorMessage } from './onnx-types.js';
import { FreshNames } from './quantize-plan.js';

/**
 * Writes the Q/DQ side of static quantization into one graph: scale and zero-point
 * initializers, QuantizeLinear/DequantizeLinear nodes (collected in `added`, ordered by
 * the caller), and which tensors have an integer form. One QuantizeLinear per tensor;
 * each quantized reader gets a DequantizeLinear of its own, the form onnxruntime's
 * QDQ selectors match.
 */
export class QdqWriter implements ElementwiseContext {
  readonly quantizedTensors = new Map<string, QuantizedTensor>();
  readonly added: NodeMessage[] = [];
  readonly #graph: GraphMessage;
  readonly #names: FreshNames;
  readonly #domain: string;
  readonly #unsigned: boolean;
  readonly #ranges: ReadonlyMap<string, TensorRange>;

  constructor(
    graph: GraphMessage,
    readonly constants: ReadonlyMap<string, FloatConstant>,
    ranges: ReadonlyMap<string, TensorRange>,
    options: { domain: string; unsigned: boolean },
  ) {
    this.#graph = graph;
    this.#ranges = ranges;
    this.#domain = options.domain;
    this.#unsigned = options.unsigned;
    this.#names = new FreshNames([
      ...graph.node.flatMap((node) => [...node.input, ...node.output, node.name ?? '']),
      ...graph.initializer.map((i) => i.name ?? ''),
    ]);
  }

  freshName(base: string): string {
    return this.#names.take(base);
  }

  add(node: NodeMessage): void {
    this.added.push({ ...node, domain: this.#domain });
  }

  qdqNode(op: 'QuantizeLinear' | 'DequantizeLinear', inputs: string[], output: string, axis?: number): void {
    const attribute = axis === undefined ? [] : [{ name: 'axis', type: ATTRIBUTE_TYPE.INT, i: axis }];
    this.add({ name: this.freshName(`${output}_${op}`), opType: op, input: inputs, output: [output], attribute });
  }

  /** Scale and zero-point initializers; `zeroPoint` is on the int8 scale (-128..127) and shifted for uint8. */
  params(name: string, scale: number, zeroPoint: number): { scale: string; zeroPoint: string } {
    const scaleName = this.freshName(`${name}_scale`);
    const zeroName = this.freshName(`${name}_zero_point`);
    this.#graph.initializer.push(floatInitializer(scaleName, [], Float32Array.of(scale)), this.#integers(zeroName, [], [zeroPoint]));
    return { scale: scaleName, zeroPoint: zeroName };
  }

  /** Parameters for a calibrated tensor, or undefined without a range. */
  outputParams(tensor: string): { scale: string; zeroPoint: string } | undefined {
    const range = this.#ranges.get(tensor);
    if (!range || !Number.isFinite(range.min)) return undefined;
    const { scale, zeroPoint } = int8Activation(range);
    return this.params(tensor, scale, zeroPoint);
  }

  /** The scale a parameter initializer holds. */
  scaleValue(name: string): number {
    return floatValues(this.#graph.initializer.find((initializer) => initializer.name === name)!)![0]!;
  }

  /** `tensor`'s integer form, adding its QuantizeLinear the first time. Undefined without a range. */
  quantizedInput(tensor: string): QuantizedTensor | undefined {
    const known = this.quantizedTensors.get(tensor);
    if (known) return known;
    const params = this.outputParams(tensor);
    if (!params) return undefined;
    const quantized = this.freshName(`${tensor}_quantized`);
    this.qdqNode('QuantizeLinear', [tensor, params.scale, params.zeroPoint], quantized);
    const entry = { ...params, quantized };
    this.quantizedTensors.set(tensor, entry);
    return entry;
  }

  dequantize(tensor: QuantizedTensor, name: string): string {
    const output = this.freshName(name);
    this.qdqNode('DequantizeLinear', [tensor.quantized, tensor.scale, tensor.zeroPoint], output);
    return output;
  }

  dequantizedConstant(constant: FloatConstant, name: string): string {
    const { scale, zeroPoint } = int8Activation({ min: Math.min(...constant.values), max: Math.max(...constant.values) });
    const q = this.freshName(`${name}_quantized`);
    this.#graph.initializer.push(
      this.#integers(
        q,
        constant.dims,
        Array.from(constant.values, (value) => Math.max(-128, Math.min(127, Math.round(value / scale) + zeroPoint))),
      ),
    );
    return this.dequantize({ quantized: q, ...this.params(name, scale, zeroPoint) }, name);
  }

  quantizeOutput(raw: string, output: string, params: { scale: string; zeroPoint: string }): void {
    const quantized = this.freshName(`${output}_quantized`);
    this.qdqNode('QuantizeLinear', [raw, params.scale, params.zeroPoint], quantized);
    this.qdqNode('DequantizeLinear', [quantized, params.scale, params.zeroPoint], output);
    this.quantizedTensors.set(output, { ...params, quantized });
  }

  /** Activation integers (given on the int8 scale) as int8, or shifted by 128 as uint8. */
  #integers(name: string, dims: readonly number[], values: readonly number[]): TensorMessage {
    if (!this.#unsigned) return int8Initializer(name, dims, Int8Array.from(values));
    return { name, dims: [...dims], dataType: ONNX_TYPE.UINT8, rawData: Uint8Array.from(values, (value) => value + 128) };
  }
}
