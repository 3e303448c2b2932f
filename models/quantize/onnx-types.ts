import type {
  AttributeProto,
  GraphProto,
  Int64,
  ModelProto,
  NodeProto,
  OperatorSetIdProto,
  TensorProto,
  ValueInfoProto,
} from '../onnx/onnx-messages.js';

/**
 * Decoded ONNX messages with the lists the quantizer edits made present and its own:
 * protobufjs leaves absent repeated fields as a shared frozen empty array.
 */
export type TensorMessage = TensorProto;
export type AttributeMessage = AttributeProto;
export type ValueInfoMessage = ValueInfoProto;
export type NodeMessage = Omit<NodeProto, 'input' | 'output' | 'attribute'> & {
  input: string[];
  output: string[];
  attribute: AttributeProto[];
};
export type GraphMessage = Omit<GraphProto, 'node' | 'initializer' | 'input' | 'output'> & {
  node: NodeMessage[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
};
export type ModelMessage = Omit<ModelProto, 'opsetImport' | 'graph'> & { opsetImport: OperatorSetIdProto[]; graph: GraphMessage };

/** Makes the lists the quantizer edits present and owned, in place. */
export function editable(model: ModelProto): ModelMessage {
  const graph = (model.graph ??= {});
  graph.node = (graph.node ?? []).map((node) =>
    Object.assign(node, { input: [...(node.input ?? [])], output: [...(node.output ?? [])], attribute: [...(node.attribute ?? [])] }),
  );
  graph.initializer = [...(graph.initializer ?? [])];
  graph.input = [...(graph.input ?? [])];
  graph.output = [...(graph.output ?? [])];
  model.opsetImport = [...(model.opsetImport ?? [])];
  return model as ModelMessage;
}

/** 64-bit fields decode as Long; the quantizer's dims and opsets fit a double. */
export const toNumber = (value: Int64 | undefined): number =>
  value === undefined ? 0 : typeof value === 'number' ? value : Number(value.toString());

/** TensorProto.DataType values the quantizer writes or reads. */
export const ONNX_TYPE = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6 } as const;
/** AttributeProto.AttributeType values. */
export const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, TENSOR: 4 } as const;
