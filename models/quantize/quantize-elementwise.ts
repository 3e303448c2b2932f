import type { FloatConstant } from './constant-tensors.js';
import { isOp } from './graph-view.js';
import type { NodeMessage } from './onnx-types.js';
import { attributeFloat } from './quantize-plan.js';

/** A tensor that has a QuantizeLinear: its integer form and the parameters it was written with. */
export interface QuantizedTensor {
  readonly quantized: string;
  readonly scale: string;
  readonly zeroPoint: string;
}

/** What the static quantizer lends the element-wise rewrites. */
export interface ElementwiseContext {
  readonly quantizedTensors: Map<string, QuantizedTensor>;
  readonly constants: ReadonlyMap<string, FloatConstant>;
  /** A fresh DequantizeLinear of `tensor`'s integer form; returns its output. */
  dequantize(tensor: QuantizedTensor, name: string): string;
  /** A constant as a quantized initializer of its own range, behind a DequantizeLinear; returns its output. */
  dequantizedConstant(constant: FloatConstant, name: string): string;
  /** Scale and zero-point initializers for a calibrated tensor, or undefined without a range. */
  outputParams(tensor: string): { scale: string; zeroPoint: string } | undefined;
  /** Scale and zero-point initializers; the zero point on the int8 scale (-128..127), shifted for uint8. */
  params(name: string, scale: number, zeroPoint: number): { scale: string; zeroPoint: string };
  /** Adds Q (from `raw`) and DQ (to `output`) and records `output` as quantized. */
  quantizeOutput(raw: string, output: string, params: { scale: string; zeroPoint: string }): void;
  /** Adds a node that reads and writes quantized-domain tensors. */
  add(node: NodeMessage): void;
  freshName(base: string): string;
}

/**
 * Rewrites Add, Mul and HardSigmoid between quantized tensors into the QDQ form
 * onnxruntime fuses into QLinearAdd, QLinearMul and a 256-entry lookup table, so the
 * activations between quantized Convs stay 8-bit instead of going through fp32
 * DequantizeLinear -> op -> QuantizeLinear passes (the bulk of the int8 profile).
 * Returns the rewritten node, or undefined when the node is not one of these or an
 * input is neither quantized nor constant (it is then left in fp32).
 */
export function quantizeElementwise(node: NodeMessage, ctx: ElementwiseContext): NodeMessage | undefined {
  if (isOp(node, 'HardSigmoid')) return hardSigmoid(node, ctx);
  if (!(isOp(node, 'Add') || isOp(node, 'Mul')) || node.input.length !== 2 || node.output.length !== 1) return undefined;
  const inputs: string[] = [];
  for (const input of node.input) {
    const quantized = ctx.quantizedTensors.get(input);
    const constant = ctx.constants.get(input);
    if (quantized) inputs.push(ctx.dequantize(quantized, `${input}_dequantized`));
    // A constant the size of the activation would be a second tensor to stream: scalars and per-channel only.
    else if (constant && constant.values.length <= 4096) inputs.push(ctx.dequantizedConstant(constant, `${input}_dequantized`));
    else return undefined;
  }
  if (node.input.every((input) => ctx.constants.has(input))) return undefined;
  const output = node.output[0]!;
  const params = ctx.outputParams(output);
  if (!params) return undefined;
  const raw = ctx.freshName(`${output}_fp32`);
  ctx.quantizeOutput(raw, output, params);
  return { ...node, input: inputs, output: [raw] };
}

/**
 * HardSigmoid(x) = clip(alpha x + beta, 0, 1) as a requantization of x: an identity
 * LeakyRelu (alpha 1) whose QuantizeLinear has scale c / alpha and zero point z = beta / c
 * maps x to q = round(alpha x / c + z), saturating at 0 and 255 (uint8 terms) — exactly
 * the clip — and q read back with scale c and zero point 0 is the gate. z is rounded to an integer,
 * so c = beta / z: the top of the gate is 255 c, within half a step of 1.
 */
function hardSigmoid(node: NodeMessage, ctx: ElementwiseContext): NodeMessage | undefined {
  const input = ctx.quantizedTensors.get(node.input[0] ?? '');
  const alpha = attributeFloat(node, 'alpha', 0.2);
  const beta = attributeFloat(node, 'beta', 0.5);
  if (!input || !(alpha > 0) || !(beta > 0 && beta < 1)) return undefined;
  const z = Math.min(254, Math.max(1, Math.round(255 * beta)));
  const c = beta / z;
  const output = node.output[0]!;
  // Zero points on the int8 scale: the gate's integer 0 is -128.
  const requantizeParams = ctx.params(`${output}_requantize`, c / alpha, z - 128);
  const readParams = ctx.params(`${output}_gate`, c, -128);
  const raw = ctx.freshName(`${output}_fp32`);
  const quantized = ctx.freshName(`${output}_quantized`);
  ctx.add({
    name: ctx.freshName(`${output}_requantize`),
    opType: 'QuantizeLinear',
    domain: '',
    input: [raw, requantizeParams.scale, requantizeParams.zeroPoint],
    output: [quantized],
    attribute: [],
  });
  ctx.add({
    name: ctx.freshName(`${output}_read`),
    opType: 'DequantizeLinear',
    domain: '',
    input: [quantized, readParams.scale, readParams.zeroPoint],
    output: [output],
    attribute: [],
  });
  ctx.quantizedTensors.set(output, { quantized, ...readParams });
  return {
    name: node.name ?? '',
    opType: 'LeakyRelu',
    domain: '',
    input: [ctx.dequantize(input, `${node.input[0]!}_dequantized`)],
    output: [raw],
    attribute: [{ name: 'alpha', type: 1, f: 1 }],
  };
}
