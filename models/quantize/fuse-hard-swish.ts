import { ATTRIBUTE_TYPE, type GraphMessage, type NodeMessage } from './onnx-types.js';
import { GraphView, isOp, removeNodes } from './graph-view.js';
import { attributeFloat } from './quantize-plan.js';

/** One written-out hard-swish: x * Clip(x + 3, 0, 6) / 6, in either Mul/Div order. */
interface HardSwishMatch {
  readonly x: string;
  /** The nodes it is written with, the last one producing the result. */
  readonly nodes: readonly NodeMessage[];
  /** The Mul that reads x (x's other reader is the Add). */
  readonly mulOfX: NodeMessage;
}

/**
 * Rewrites each written-out hard-swish (Paddle2ONNX's form at opset 9) into
 * HardSigmoid(x; alpha 1/6, beta 0.5) -> Mul(x, ·): two ops instead of four, and a
 * form without the Add/Clip/Div passes over the activation. When a Mul by a scalar
 * constant `a` follows and x has no other reader, the scale moves in front:
 * a * x * hsig(x) = x' * HardSigmoid(x'; alpha 1/(6a)) with x' = a * x, and the Mul on x'
 * then folds into the Conv that produces x (see foldConvAffine).
 * Exact up to fp32 rounding. Returns how many hard-swishes were rewritten.
 */
export function fuseHardSwish(graph: GraphMessage): number {
  const view = new GraphView(graph);
  const matches = graph.node
    .filter((node) => isOp(node, 'Clip'))
    .map((clip) => matchHardSwish(clip, view))
    .filter((match) => match !== undefined);
  for (const match of matches) {
    const last = match.nodes[match.nodes.length - 1]!;
    const scaleMul = view.onlyReader(last.output[0]!);
    const scale = isOp(scaleMul, 'Mul') ? constantOperand(scaleMul, last.output[0]!, view) : undefined;
    const movesScale = scale !== undefined && scale !== 0 && view.readOnlyBy(match.x, [match.nodes[0]!, match.mulOfX]);
    const base = last.name || last.output[0]!;
    const replacement: NodeMessage[] = [];
    let input = match.x;
    if (movesScale) {
      input = view.names.take(`${base}_scaled_input`);
      replacement.push({
        name: view.names.take(`${base}_scale`),
        opType: 'Mul',
        domain: '',
        input: [match.x, scaleMul!.input.find((name) => name !== last.output[0])!],
        output: [input],
        attribute: [],
      });
    }
    const gate = view.names.take(`${base}_gate`);
    replacement.push(
      {
        name: view.names.take(`${base}_hard_sigmoid`),
        opType: 'HardSigmoid',
        domain: '',
        input: [input],
        output: [gate],
        attribute: [floatAttribute('alpha', 1 / (6 * (movesScale ? scale : 1))), floatAttribute('beta', 0.5)],
      },
      {
        name: view.names.take(`${base}_hard_swish`),
        opType: 'Mul',
        domain: '',
        input: [input, gate],
        output: [movesScale ? scaleMul!.output[0]! : last.output[0]!],
        attribute: [],
      },
    );
    graph.node.splice(graph.node.indexOf(last), 0, ...replacement);
    removeNodes(graph, movesScale ? [...match.nodes, scaleMul!] : match.nodes);
  }
  return matches.length;
}

function matchHardSwish(clip: NodeMessage, view: GraphView): HardSwishMatch | undefined {
  const add = view.producer(clip.input[0] ?? '');
  if (!isOp(add, 'Add') || view.onlyReader(add.output[0]!) !== clip || !clipsTo(clip, 0, 6, view)) return undefined;
  const three = add.input.findIndex((name) => view.scalar(name) === 3);
  if (three < 0) return undefined;
  const x = add.input[1 - three]!;
  const next = view.onlyReader(clip.output[0]!);
  const isMulOfX = (node: NodeMessage | undefined, other: string): node is NodeMessage & { opType: string } =>
    isOp(node, 'Mul') && node.input.length === 2 && node.input.includes(x) && node.input.includes(other);
  const isDivBy6 = (node: NodeMessage | undefined, dividend: string): node is NodeMessage & { opType: string } =>
    isOp(node, 'Div') && node.input[0] === dividend && view.scalar(node.input[1] ?? '') === 6;
  if (isMulOfX(next, clip.output[0]!)) {
    const div = view.onlyReader(next.output[0]!);
    return isDivBy6(div, next.output[0]!) ? { x, nodes: [add, clip, next, div], mulOfX: next } : undefined;
  }
  if (isDivBy6(next, clip.output[0]!)) {
    const mul = view.onlyReader(next.output[0]!);
    return isMulOfX(mul, next.output[0]!) ? { x, nodes: [add, clip, next, mul], mulOfX: mul } : undefined;
  }
  return undefined;
}

/** Clip's bounds are attributes up to opset 10 and optional inputs from opset 11. */
function clipsTo(clip: NodeMessage, min: number, max: number, view: GraphView): boolean {
  const bound = (index: number, attribute: string, fallback: number): number | undefined =>
    clip.input[index] ? view.scalar(clip.input[index]) : attributeFloat(clip, attribute, fallback);
  return bound(1, 'min', Number.NEGATIVE_INFINITY) === min && bound(2, 'max', Number.POSITIVE_INFINITY) === max;
}

/** The scalar constant a Mul multiplies `tensor` by, if its other operand is one. */
function constantOperand(mul: NodeMessage, tensor: string, view: GraphView): number | undefined {
  if (mul.input.length !== 2 || mul.input[0] === mul.input[1]) return undefined;
  return view.scalar(mul.input[mul.input[0] === tensor ? 1 : 0]!);
}

function floatAttribute(name: string, f: number): NodeMessage['attribute'][number] {
  return { name, type: ATTRIBUTE_TYPE.FLOAT, f };
}
