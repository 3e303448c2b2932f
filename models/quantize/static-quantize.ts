import { dropUnusedConstants, floatConstants, floatInitializer, int8Initializer, type FloatConstant } from './constant-tensors.js';
import type { TensorRange } from './calibrate.js';
import { outputLayerNodes } from './dynamic-quantize.js';
import { fuseForQuantization } from './graph-fusions.js';
import { dropUnreadQdq, int32Initializer, topologicalOrder } from './qdq-graph.js';
import { quantizeElementwise } from './quantize-elementwise.js';
import { QdqWriter } from './qdq-writer.js';
import { quantizePerChannel } from './int8-weights.js';
import { upgradeToOpset10 } from './opset-upgrade.js';
import { toNumber, type ModelMessage, type NodeMessage } from './onnx-types.js';
import { attributeFloat, attributeInt, MS_DOMAIN, type QuantizeOutcome } from './quantize-plan.js';

const TARGET_OPS = new Set(['Conv', 'MatMul', 'Gemm']);

export interface StaticQuantizeOptions {
  readonly quantizeOutputLayer?: boolean;
  /**
   * Apply fuseForQuantization first (default on). The folded Convs once lost onnxruntime's
   * QLinearConv fusion; that was the int8 -> uint8 conversion (see `activations`), not the
   * folding.
   */
  readonly fuse?: boolean;
  /**
   * Activation integers. uint8 (default) is what onnxruntime's x86 kernels take: with int8
   * it converts each Q -> DQ pair to uint8 itself (QDQS8ToU8Transformer), but not a Q read
   * by more than one DQ, and a Conv whose input was converted and output was not is left
   * fp32. int8 is the form TensorRT wants.
   */
  readonly activations?: 'int8' | 'uint8';
  /** Also quantize Add, Mul and HardSigmoid between quantized tensors (default on). */
  readonly elementwise?: boolean;
}

/**
 * The tensors whose ranges static quantization needs: each target node's activation input
 * and its output. With `fuse`, first applies the fp32-exact fusions quantizeStatic applies,
 * in place, so calibrate the model as it is after this call.
 */
export function calibrationTensors(model: ModelMessage, options: StaticQuantizeOptions = {}): string[] {
  if (options.fuse !== false) fuseForQuantization(model.graph);
  const constants = floatConstants(model.graph);
  const skip = options.quantizeOutputLayer ? new Set<NodeMessage>() : outputLayerNodes(model.graph);
  const names = new Set<string>();
  for (const node of model.graph.node) {
    if (!isTarget(node) || skip.has(node) || typeof weightAxis(node, constants) === 'string') continue;
    names.add(node.input[0]!);
    names.add(node.output[0]!);
  }
  // Add and Mul outputs, for the element-wise ops quantizeStatic keeps 8-bit.
  if (options.elementwise !== false)
    for (const node of model.graph.node)
      if ((node.domain ?? '') === '' && (node.opType === 'Add' || node.opType === 'Mul')) names.add(node.output[0]!);
  return [...names];
}

/**
 * Static quantization in QDQ form: per-channel int8 weights behind DequantizeLinear, and
 * QuantizeLinear + DequantizeLinear on each target node's input and output with scales
 * from calibration (uint8 activations by default, int8 on request: see `activations`).
 * onnxruntime fuses DQ -> Conv/MatMul/Gemm -> Q into its int8 kernels when it loads the
 * model, and DQ -> Add/Mul/LeakyRelu -> Q (see quantizeElementwise) into QLinear ops.
 */
export function quantizeStatic(
  model: ModelMessage,
  ranges: ReadonlyMap<string, TensorRange>,
  options: StaticQuantizeOptions = {},
): QuantizeOutcome {
  upgradeToOpset10(model);
  const graph = model.graph;
  // A no-op when calibrationTensors already ran on this model.
  if (options.fuse !== false) fuseForQuantization(graph);
  const constants = floatConstants(graph);
  const defaultOpset = toNumber(model.opsetImport.find((entry) => (entry.domain ?? '') === '')?.version);
  // Per-axis DequantizeLinear is standard from opset 13; below that, the com.microsoft one.
  const qdqDomain = defaultOpset >= 13 ? '' : MS_DOMAIN;
  const skip = options.quantizeOutputLayer ? new Set<NodeMessage>() : outputLayerNodes(graph);
  const outcome: QuantizeOutcome = { quantized: {}, leftInFp32: [] };
  const qdq = new QdqWriter(graph, constants, ranges, { domain: qdqDomain, unsigned: (options.activations ?? 'uint8') === 'uint8' });

  const rewritten: NodeMessage[] = [];
  for (const node of graph.node) {
    if (!isTarget(node)) {
      const quantized = options.elementwise === false ? undefined : quantizeElementwise(node, qdq);
      rewritten.push(quantized ?? node);
      if (quantized) outcome.quantized[node.opType!] = (outcome.quantized[node.opType!] ?? 0) + 1;
      continue;
    }
    const op = node.opType!;
    const where = node.name || node.output[0] || '?';
    const axis = skip.has(node)
      ? 'the output layer stays fp32: it is small, and the scores are what accuracy is judged on'
      : weightAxis(node, constants);
    const input = node.input[0]!;
    const output = node.output[0]!;
    if (typeof axis === 'string' || !ranges.has(input) || !ranges.has(output)) {
      outcome.leftInFp32.push({
        node: where,
        op,
        reason: typeof axis === 'string' ? axis : 'no calibration range for its input or output',
      });
      rewritten.push(node);
      continue;
    }
    // Activation in: its QuantizeLinear (shared) and a DequantizeLinear of this node's own.
    const inputQ = qdq.quantizedInput(input)!;
    const inputDq = qdq.dequantize(inputQ, `${input}_dequantized`);
    const inputScale = qdq.scaleValue(inputQ.scale);
    // Weights: int8 per channel behind a DequantizeLinear.
    const weightName = node.input[1]!;
    const weight = constants.get(weightName)!;
    const int8 = quantizePerChannel(weight.values, weight.dims, axis);
    const wq = qdq.freshName(`${weightName}_int8`);
    const ws = qdq.freshName(`${weightName}_scale`);
    const wz = qdq.freshName(`${weightName}_zero_point`);
    const wdq = qdq.freshName(`${weightName}_dequantized`);
    graph.initializer.push(
      int8Initializer(wq, weight.dims, int8.values),
      floatInitializer(ws, [int8.scales.length], int8.scales),
      int8Initializer(wz, [int8.scales.length], new Int8Array(int8.scales.length)),
    );
    qdq.qdqNode('DequantizeLinear', [wq, ws, wz], wdq, axis);
    const inputs = [inputDq, wdq];
    // Bias: int32 at scale input_scale * weight_scale, the form the int8 kernels take.
    const biasName = node.input[2];
    if (biasName) {
      const bias = constants.get(biasName);
      if (bias && bias.values.length === int8.scales.length) {
        const scales = int8.scales.map((scale) => scale * inputScale);
        const values = new Int32Array(bias.values.length);
        bias.values.forEach((value, index) => (values[index] = Math.round(value / scales[index]!)));
        const bq = qdq.freshName(`${biasName}_int32`);
        const bs = qdq.freshName(`${biasName}_scale`);
        const bz = qdq.freshName(`${biasName}_zero_point`);
        const bdq = qdq.freshName(`${biasName}_dequantized`);
        graph.initializer.push(
          int32Initializer(bq, [values.length], values),
          floatInitializer(bs, [values.length], scales),
          int32Initializer(bz, [values.length], new Int32Array(values.length)),
        );
        qdq.qdqNode('DequantizeLinear', [bq, bs, bz], bdq, 0);
        inputs.push(bdq);
      } else {
        inputs.push(biasName);
      }
    }
    // Activation out: the node writes a private name; Q/DQ restores the one readers use.
    const raw = qdq.freshName(`${output}_fp32`);
    qdq.quantizeOutput(raw, output, qdq.outputParams(output)!);
    rewritten.push({ ...node, input: inputs, output: [raw, ...node.output.slice(1)] });
    outcome.quantized[op] = (outcome.quantized[op] ?? 0) + 1;
  }
  graph.node = dropUnreadQdq(topologicalOrder([...rewritten, ...qdq.added], graph), graph);
  if (qdqDomain === MS_DOMAIN && !model.opsetImport.some((entry) => entry.domain === MS_DOMAIN))
    model.opsetImport.push({ domain: MS_DOMAIN, version: 1 });
  dropUnusedConstants(graph);
  return outcome;
}

function isTarget(node: NodeMessage): boolean {
  return (node.domain ?? '') === '' && TARGET_OPS.has(node.opType ?? '');
}

/** The axis of the weight's output channels, or why the node stays fp32. */
function weightAxis(node: NodeMessage, constants: Map<string, FloatConstant>): number | string {
  const weight = constants.get(node.input[1] ?? '');
  if (!weight) return 'its weight is not a constant float tensor';
  if (node.opType === 'Conv') return weight.dims.length >= 3 ? 0 : 'Conv weight with fewer than 3 dims';
  if (weight.dims.length !== 2) return `its weight has ${weight.dims.length} dims, not 2`;
  if (node.opType === 'MatMul') return 1;
  if (attributeInt(node, 'transA', 0) !== 0 || attributeFloat(node, 'alpha', 1) !== 1 || attributeFloat(node, 'beta', 1) !== 1)
    return 'Gemm with transA, alpha or beta';
  return attributeInt(node, 'transB', 0) === 1 ? 0 : 1;
}
