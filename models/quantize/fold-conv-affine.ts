import type { FloatConstant } from './constant-tensors.js';
import { GraphView, isOp, removeNodes } from './graph-view.js';
import type { GraphMessage, NodeMessage } from './onnx-types.js';
import { attributeFloat, attributeInt } from './quantize-plan.js';

/** A per-output-channel affine y * scale + shift, the form every foldable reader reduces to. */
interface ChannelAffine {
  readonly scale?: Float64Array;
  readonly shift?: Float64Array;
}

/**
 * Folds what a Conv's output goes through next into the Conv's weights and bias, when the
 * Conv's output has no other reader: Mul and Add by a scalar or per-channel constant
 * ([1,C,1,1] or [C,1,1]; a plain [C] broadcasts along the last axis, not the channels, so it
 * is left alone), and inference-mode BatchNormalization. Exact up to fp32 rounding.
 * Static quantization puts Q/DQ right after each Conv, which stops onnxruntime from doing
 * this fusion itself, and the affine would then run as fp32 element-wise ops.
 * Returns how many nodes were folded away.
 */
export function foldConvAffine(graph: GraphMessage): number {
  let folded = 0;
  for (;;) {
    const view = new GraphView(graph);
    const gone: NodeMessage[] = [];
    for (const conv of graph.node) {
      if (!isOp(conv, 'Conv') || conv.output.length !== 1) continue;
      const reader = view.onlyReader(conv.output[0]!);
      const weight = view.constant(conv.input[1] ?? '');
      if (!reader || !weight || weight.dims.length < 3) continue;
      const bias = conv.input[2] ? view.constant(conv.input[2]) : undefined;
      if (conv.input[2] && !bias) continue;
      const affine = channelAffine(reader, conv.output[0]!, view, weight.dims.length, weight.dims[0]!);
      if (!affine) continue;
      applyAffine(conv, affine, weight, bias, view);
      conv.output = [reader.output[0]!];
      gone.push(reader);
    }
    if (gone.length === 0) return folded;
    removeNodes(graph, gone);
    folded += gone.length;
  }
}

/** The reader of a Conv output `tensor` as a per-channel affine, or undefined when it is not one. */
function channelAffine(reader: NodeMessage, tensor: string, view: GraphView, rank: number, channels: number): ChannelAffine | undefined {
  if (isOp(reader, 'Mul') || isOp(reader, 'Add')) {
    if (reader.input.length !== 2 || reader.input[0] === reader.input[1]) return undefined;
    const other = view.constant(reader.input[reader.input[0] === tensor ? 1 : 0]!);
    const values = other && perChannel(other, rank, channels);
    if (!values) return undefined;
    return reader.opType === 'Mul' ? { scale: values } : { shift: values };
  }
  if (isOp(reader, 'BatchNormalization')) {
    if (reader.input[0] !== tensor || reader.output.slice(1).some((output) => output !== '') || attributeInt(reader, 'spatial', 1) !== 1)
      return undefined;
    const [gamma, beta, mean, variance] = reader.input.slice(1, 5).map((name) => view.constant(name));
    if (!gamma || !beta || !mean || !variance || [gamma, beta, mean, variance].some((c) => c.values.length !== channels)) return undefined;
    const epsilon = attributeFloat(reader, 'epsilon', 1e-5);
    const scale = Float64Array.from(gamma.values, (g, c) => g / Math.sqrt(variance.values[c]! + epsilon));
    const shift = Float64Array.from(beta.values, (b, c) => b - mean.values[c]! * scale[c]!);
    return { scale, shift };
  }
  return undefined;
}

/**
 * One value per output channel of a constant that broadcasts against a Conv output of
 * `rank` dims ([N, C, spatial...]), or undefined when it varies along another axis.
 */
export function perChannel(constant: FloatConstant, rank: number, channels: number): Float64Array | undefined {
  if (constant.values.length === 1) return new Float64Array(channels).fill(constant.values[0]!);
  if (constant.dims.length > rank || constant.values.length !== channels) return undefined;
  const aligned = [...new Array<number>(rank - constant.dims.length).fill(1), ...constant.dims];
  return aligned[1] === channels ? Float64Array.from(constant.values) : undefined;
}

/** Rewrites the Conv's weight and bias so it computes affine(conv(x)). */
function applyAffine(
  conv: NodeMessage,
  affine: ChannelAffine,
  weight: FloatConstant,
  bias: FloatConstant | undefined,
  view: GraphView,
): void {
  const channels = weight.dims[0]!;
  const perChannelSize = weight.values.length / channels;
  const scale = affine.scale ?? new Float64Array(channels).fill(1);
  const shift = affine.shift ?? new Float64Array(channels);
  const newWeight = new Float32Array(weight.values.length);
  const newBias = new Float32Array(channels);
  for (let c = 0; c < channels; c += 1) {
    for (let i = c * perChannelSize; i < (c + 1) * perChannelSize; i += 1) newWeight[i] = weight.values[i]! * scale[c]!;
    newBias[c] = (bias?.values[c] ?? 0) * scale[c]! + shift[c]!;
  }
  const base = conv.name || conv.output[0] || 'conv';
  const weightName = affine.scale ? view.addConstant(`${base}_folded_weight`, weight.dims, newWeight) : conv.input[1]!;
  const biasName = view.addConstant(`${base}_folded_bias`, [channels], newBias);
  conv.input = [conv.input[0]!, weightName, biasName];
}
