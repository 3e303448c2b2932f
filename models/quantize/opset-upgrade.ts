import { int64Initializer } from '../onnx/onnx-model.js';
import { FreshNames, QuantizeError } from './quantize-plan.js';
import { toNumber, type AttributeMessage, type ModelMessage } from './onnx-types.js';

/** Ops whose definition changed between opsets 9 and 10 in ways this upgrade does not rewrite. */
const CHANGED_IN_10 = new Set(['Upsample', 'Dropout', 'TopK']);

/**
 * onnxruntime fuses QDQ around Conv and MatMul into QLinearConv / QLinearMatMul, ops of
 * opset 10. Exporters such as Paddle2ONNX write opset 9, so static quantization first
 * lifts the default opset to 10: Slice moves its attributes into inputs (the one change
 * of 10 such models use); a model with another op that changed is refused, not guessed at.
 */
export function upgradeToOpset10(model: ModelMessage): void {
  const entry = model.opsetImport.find((candidate) => (candidate.domain ?? '') === '');
  if (!entry || toNumber(entry.version) >= 10) return;
  const changed = model.graph.node.filter((node) => (node.domain ?? '') === '' && CHANGED_IN_10.has(node.opType ?? ''));
  if (changed.length > 0) {
    throw new QuantizeError(
      `static quantization needs opset 10 and this opset-${toNumber(entry.version)} model uses ${[...new Set(changed.map((node) => node.opType))].join(', ')}, which changed in opset 10: convert the model to opset 10 or later first, or use --mode dynamic`,
    );
  }
  const names = new FreshNames(model.graph.node.flatMap((node) => [...node.input, ...node.output]));
  for (const node of model.graph.node) {
    if ((node.domain ?? '') !== '' || node.opType !== 'Slice') continue;
    const ints = (name: string): bigint[] | undefined =>
      node.attribute.find((attribute: AttributeMessage) => attribute.name === name)?.ints?.map((value) => BigInt(toNumber(value)));
    const starts = ints('starts') ?? [];
    const ends = ints('ends') ?? [];
    const axes = ints('axes');
    const constant = (suffix: string, values: bigint[]): string => {
      const name = names.take(`${node.name || node.output[0]}_${suffix}`);
      model.graph.initializer.push(int64Initializer(name, [values.length], BigInt64Array.from(values)));
      return name;
    };
    node.input = [node.input[0]!, constant('starts', starts), constant('ends', ends), ...(axes ? [constant('axes', axes)] : [])];
    node.attribute = [];
  }
  entry.version = 10;
}
