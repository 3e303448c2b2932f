import { dropUnusedConstants, floatConstants, floatInitializer, int8Initializer, type FloatConstant } from './constant-tensors.js';
import { errorFeedbackRounding } from './error-feedback-rounding.js';
import { quantizePerChannel, transpose2d } from './int8-weights.js';
import type { GraphMessage, ModelMessage, NodeMessage } from './onnx-types.js';
import { attributeFloat, attributeInt, FreshNames, MS_DOMAIN, type QuantizeOutcome } from './quantize-plan.js';

/**
 * Dynamic quantization: the constant weight of every MatMul and Gemm becomes int8 with a
 * scale per output column; activations are quantized at run time. Each node becomes one
 * com.microsoft DynamicQuantizeMatMul, the kernel onnxruntime fuses the standard
 * DynamicQuantizeLinear + MatMulInteger pattern into, and one that works at any opset
 * (Paddle2ONNX models are opset 9, below MatMulInteger's 10). Other ops stay fp32.
 *
 * `hessians` (by activation input name, see `dynamicActivationInputs`) switch a layer
 * from round-to-nearest to error-feedback rounding; the per-column scales are the same.
 */
export function quantizeDynamic(model: ModelMessage, options: DynamicQuantizeOptions = {}): QuantizeOutcome {
  const graph = model.graph;
  const outputLayers = options.quantizeOutputLayer ? new Set<NodeMessage>() : outputLayerNodes(graph);
  const constants = floatConstants(graph);
  const names = new FreshNames(allNames(graph));
  const outcome: QuantizeOutcome = { quantized: {}, leftInFp32: [], errorFeedback: [] };
  const rewritten: NodeMessage[] = [];
  for (const node of graph.node) {
    const op = node.opType ?? '';
    if ((node.domain ?? '') === '' && op === 'Conv') {
      outcome.leftInFp32.push({ node: node.name || node.output[0] || '?', op, reason: DYNAMIC_CONV });
    }
    if ((node.domain ?? '') !== '' || (op !== 'MatMul' && op !== 'Gemm')) {
      rewritten.push(node);
      continue;
    }
    const plan = outputLayers.has(node) ? OUTPUT_LAYER : planMatMul(node, constants);
    if (typeof plan === 'string') {
      outcome.leftInFp32.push({ node: node.name ?? node.output[0] ?? '?', op, reason: plan });
      rewritten.push(node);
      continue;
    }
    const weights = quantizePerChannel(plan.weight, [plan.k, plan.n], 1);
    const hessian = options.hessians?.get(node.input[0]!);
    const useFeedback = hessian !== undefined && hessian.length === plan.k * plan.k;
    const values = useFeedback ? errorFeedbackRounding(plan.weight, plan.k, plan.n, weights.scales, hessian) : weights.values;
    if (useFeedback) outcome.errorFeedback?.push(node.name || node.output[0] || '?');
    const weightName = names.take(`${node.input[1]}_int8`);
    const scaleName = names.take(`${node.input[1]}_scale`);
    graph.initializer.push(int8Initializer(weightName, [plan.k, plan.n], values), floatInitializer(scaleName, [plan.n], weights.scales));
    const inputs = [node.input[0]!, weightName, scaleName];
    if (plan.bias) {
      const biasName = names.take(`${node.input[2]}_bias`);
      graph.initializer.push(floatInitializer(biasName, [plan.n], plan.bias));
      inputs.push('', biasName);
    }
    rewritten.push({
      name: names.take(`${node.name || node.output[0]}_int8`),
      opType: 'DynamicQuantizeMatMul',
      domain: MS_DOMAIN,
      input: inputs,
      output: [...node.output],
      attribute: [],
    });
    outcome.quantized[op] = (outcome.quantized[op] ?? 0) + 1;
  }
  graph.node = rewritten;
  if (Object.keys(outcome.quantized).length > 0) {
    if (!model.opsetImport.some((entry) => entry.domain === MS_DOMAIN)) model.opsetImport.push({ domain: MS_DOMAIN, version: 1 });
    dropUnusedConstants(graph);
  }
  return outcome;
}

export interface DynamicQuantizeOptions {
  readonly quantizeOutputLayer?: boolean;
  /** Layer Hessians (row-major [k, k]) by the name of the layer's activation input. */
  readonly hessians?: ReadonlyMap<string, Float64Array>;
}

/** The activation inputs of the nodes dynamic quantization rewrites: where calibration rows are read. */
export function dynamicActivationInputs(model: ModelMessage, options: { readonly quantizeOutputLayer?: boolean } = {}): string[] {
  const skip = options.quantizeOutputLayer ? new Set<NodeMessage>() : outputLayerNodes(model.graph);
  const constants = floatConstants(model.graph);
  const names = new Set<string>();
  for (const node of model.graph.node) {
    const op = node.opType ?? '';
    if ((node.domain ?? '') !== '' || (op !== 'MatMul' && op !== 'Gemm') || skip.has(node)) continue;
    if (typeof planMatMul(node, constants) !== 'string') names.add(node.input[0]!);
  }
  return [...names];
}

/** onnxruntime's guidance: dynamic quantization for MatMul-heavy models, static (QDQ) for CNNs. */
const DYNAMIC_CONV = 'dynamic mode quantizes MatMul/Gemm only: Convs take --mode static (QDQ, fused into QLinearConv)';

const OUTPUT_LAYER = 'the output layer stays fp32: it is small, and the scores are what agreement is judged on';

/** Ops that pass a layer's output on to the graph output without mixing in other data. */
const PASS_THROUGH = new Set(['Softmax', 'LogSoftmax', 'Sigmoid', 'Identity', 'Reshape', 'Squeeze', 'Flatten']);

/** MatMul/Gemm nodes whose result reaches a graph output through pass-through ops only. */
export function outputLayerNodes(graph: GraphMessage): Set<NodeMessage> {
  const producers = new Map(graph.node.flatMap((node) => node.output.map((output) => [output, node] as const)));
  const found = new Set<NodeMessage>();
  for (const output of graph.output) {
    let node = producers.get(output.name ?? '');
    while (node && PASS_THROUGH.has(node.opType ?? '')) node = producers.get(node.input[0] ?? '');
    if (node && (node.opType === 'MatMul' || node.opType === 'Gemm')) found.add(node);
  }
  return found;
}

interface MatMulPlan {
  /** [k, n], row-major. */
  readonly weight: Float32Array;
  readonly k: number;
  readonly n: number;
  readonly bias?: Float32Array;
}

/** The weight (and Gemm bias) as DynamicQuantizeMatMul wants them, or why the node stays fp32. */
function planMatMul(node: NodeMessage, constants: Map<string, FloatConstant>): MatMulPlan | string {
  const weight = constants.get(node.input[1] ?? '');
  if (!weight) return 'its weight is not a constant float tensor';
  if (weight.dims.length !== 2) return `its weight has ${weight.dims.length} dims, not 2`;
  if (node.opType === 'MatMul') return { weight: weight.values, k: weight.dims[0]!, n: weight.dims[1]! };
  if (attributeInt(node, 'transA', 0) !== 0) return 'Gemm with transA';
  if (attributeFloat(node, 'alpha', 1) !== 1 || attributeFloat(node, 'beta', 1) !== 1) return 'Gemm with alpha or beta other than 1';
  const transposed = attributeInt(node, 'transB', 0) === 1;
  const [rows, cols] = weight.dims as [number, number];
  const plan = transposed
    ? { weight: transpose2d(weight.values, rows, cols), k: cols, n: rows }
    : { weight: weight.values, k: rows, n: cols };
  const biasName = node.input[2];
  if (!biasName) return plan;
  const bias = constants.get(biasName);
  if (!bias || bias.values.length !== plan.n) return 'its bias is not a constant of one value per output column';
  return { ...plan, bias: bias.values };
}

function allNames(graph: GraphMessage): string[] {
  return [
    ...graph.node.flatMap((node) => [...node.input, ...node.output, node.name ?? '']),
    ...graph.initializer.map((initializer) => initializer.name ?? ''),
    ...graph.input.map((input) => input.name ?? ''),
  ];
}
