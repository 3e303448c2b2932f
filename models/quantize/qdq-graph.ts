import { ONNX_TYPE, type GraphMessage, type NodeMessage, type TensorMessage } from './onnx-types.js';

export function int32Initializer(name: string, dims: readonly number[], values: Int32Array): TensorMessage {
  return { name, dims: [...dims], dataType: ONNX_TYPE.INT32, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/**
 * Drops Q/DQ nodes whose output nothing reads (a DQ that restored a name only readers now
 * quantized used to read): onnxruntime does not remove unread nodes, it runs them.
 */
export function dropUnreadQdq(nodes: NodeMessage[], graph: GraphMessage): NodeMessage[] {
  const outputs = new Set(graph.output.map((output) => output.name ?? ''));
  for (;;) {
    const read = new Set(nodes.flatMap((node) => node.input));
    const kept = nodes.filter(
      (node) =>
        !(node.opType === 'QuantizeLinear' || node.opType === 'DequantizeLinear') ||
        node.output.some((output) => read.has(output) || outputs.has(output)),
    );
    if (kept.length === nodes.length) return kept;
    nodes = kept;
  }
}

/** ONNX wants nodes in an order where every input is produced before it is read. */
export function topologicalOrder(nodes: NodeMessage[], graph: GraphMessage): NodeMessage[] {
  const available = new Set<string>([
    '',
    ...graph.input.map((input) => input.name ?? ''),
    ...graph.initializer.map((initializer) => initializer.name ?? ''),
  ]);
  const ordered: NodeMessage[] = [];
  let pending = nodes;
  while (pending.length > 0) {
    const next: NodeMessage[] = [];
    for (const node of pending) {
      if (node.input.every((input) => available.has(input))) {
        ordered.push(node);
        for (const output of node.output) available.add(output);
      } else {
        next.push(node);
      }
    }
    if (next.length === pending.length)
      throw new Error(`graph has nodes whose inputs are never produced: ${next.map((node) => node.name).join(', ')}`);
    pending = next;
  }
  return ordered;
}
