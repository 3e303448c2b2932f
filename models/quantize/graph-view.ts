import { floatConstants, floatInitializer, type FloatConstant } from './constant-tensors.js';
import type { GraphMessage, NodeMessage } from './onnx-types.js';
import { FreshNames } from './quantize-plan.js';

/**
 * Who writes and who reads each tensor of a graph, and its constant float values, for the
 * pattern rewrites that run before quantization. A snapshot: rebuild it after an edit.
 */
export class GraphView {
  readonly #graph: GraphMessage;
  readonly #readers = new Map<string, NodeMessage[]>();
  readonly #producers = new Map<string, NodeMessage>();
  readonly #outputs: Set<string>;
  readonly #constants: Map<string, FloatConstant>;
  readonly names: FreshNames;

  constructor(graph: GraphMessage) {
    this.#graph = graph;
    for (const node of graph.node) {
      for (const input of node.input) this.#readers.set(input, [...(this.#readers.get(input) ?? []), node]);
      for (const output of node.output) this.#producers.set(output, node);
    }
    this.#outputs = new Set(graph.output.map((output) => output.name ?? ''));
    this.#constants = floatConstants(graph);
    this.names = new FreshNames([
      ...graph.node.flatMap((node) => [...node.input, ...node.output, node.name ?? '']),
      ...graph.initializer.map((i) => i.name ?? ''),
    ]);
  }

  readers(tensor: string): readonly NodeMessage[] {
    return this.#readers.get(tensor) ?? [];
  }

  producer(tensor: string): NodeMessage | undefined {
    return this.#producers.get(tensor);
  }

  /** The node that alone reads `tensor`, when the tensor is not also a graph output. */
  onlyReader(tensor: string): NodeMessage | undefined {
    const readers = this.readers(tensor);
    return readers.length === 1 && !this.#outputs.has(tensor) ? readers[0] : undefined;
  }

  /** True when `tensor` is read by exactly `nodes` (each once or more) and is not a graph output. */
  readOnlyBy(tensor: string, nodes: readonly NodeMessage[]): boolean {
    return !this.#outputs.has(tensor) && this.readers(tensor).every((reader) => nodes.includes(reader));
  }

  constant(tensor: string): FloatConstant | undefined {
    return this.#constants.get(tensor);
  }

  /** A single-valued constant (scalar, [1], [1,1,1], ...), or undefined. */
  scalar(tensor: string): number | undefined {
    const constant = this.constant(tensor);
    return constant && constant.values.length === 1 ? constant.values[0] : undefined;
  }

  /** Adds a float initializer under a fresh name derived from `base` and returns the name. */
  addConstant(base: string, dims: readonly number[], values: Float32Array): string {
    const name = this.names.take(base);
    this.#graph.initializer.push(floatInitializer(name, dims, values));
    return name;
  }
}

/**
 * True for an op of the default ONNX domain. The guarded type names opType so that a false
 * answer does not narrow a node away (a node can fail one op test and pass the next).
 */
export function isOp(node: NodeMessage | undefined, opType: string): node is NodeMessage & { opType: string } {
  return node !== undefined && (node.domain ?? '') === '' && node.opType === opType;
}

/** Removes nodes from the graph (by identity); ordering of the rest is kept. */
export function removeNodes(graph: GraphMessage, nodes: Iterable<NodeMessage>): void {
  const gone = new Set(nodes);
  graph.node = graph.node.filter((node) => !gone.has(node));
}
