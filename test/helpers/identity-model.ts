import { TensorDataType, encodeModel, valueInfo } from '../../models/onnx/onnx-model.js';

/** ONNX TensorProto.DataType for each protocol datatype onnxruntime-node can hold. */
export const ONNX_ELEM_TYPES = {
  FP32: TensorDataType.FLOAT,
  UINT8: TensorDataType.UINT8,
  INT8: TensorDataType.INT8,
  UINT16: TensorDataType.UINT16,
  INT16: TensorDataType.INT16,
  INT32: TensorDataType.INT32,
  INT64: TensorDataType.INT64,
  BYTES: TensorDataType.STRING,
  BOOL: TensorDataType.BOOL,
  FP16: TensorDataType.FLOAT16,
  FP64: TensorDataType.DOUBLE,
  UINT32: TensorDataType.UINT32,
  UINT64: TensorDataType.UINT64,
} as const;

export type IdentityDatatype = keyof typeof ONNX_ELEM_TYPES;

/** A model whose output `out_<name>` is its input `<name>`, one pair per datatype given. */
export function buildIdentityModel(inputs: readonly { name: string; datatype: IdentityDatatype; dims: (number | string)[] }[]): Uint8Array {
  return encodeModel({
    irVersion: 8,
    producerName: 'switchyard-test',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'identity',
      node: inputs.map((input) => ({ opType: 'Identity', name: `id_${input.name}`, input: [input.name], output: [`out_${input.name}`] })),
      input: inputs.map((input) => valueInfo(input.name, ONNX_ELEM_TYPES[input.datatype], input.dims)),
      output: inputs.map((input) => valueInfo(`out_${input.name}`, ONNX_ELEM_TYPES[input.datatype], input.dims)),
    },
  });
}

/**
 * The "echo" model many tests serve: FP32 `x` [4] back as `out_x`, batching up to 8, free unless
 * `overrides` (merged into its config) price it. For TestRepository.add('echo', ...echoModel()).
 */
export function echoModel(overrides: Record<string, unknown> = {}): [Record<string, unknown>, Record<string, Uint8Array>] {
  const config = {
    platform: 'onnx',
    versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
    max_batch_size: 8,
    inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
    outputs: [{ name: 'out_x', datatype: 'FP32', shape: [4] }],
    price: { usd_per_compute_second: 0 },
    ...overrides,
  };
  return [config, { '1/model.onnx': buildIdentityModel([{ name: 'x', datatype: 'FP32', dims: ['batch', 4] }]) }];
}
