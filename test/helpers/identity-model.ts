import { ModelProto, valueInfo } from '../../models/build/onnx-schema.js';

/** ONNX TensorProto.DataType for each protocol datatype onnxruntime-node can hold. */
export const ONNX_ELEM_TYPES = {
  FP32: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, BYTES: 8, BOOL: 9, FP16: 10, FP64: 11, UINT32: 12, UINT64: 13,
} as const;

export type IdentityDatatype = keyof typeof ONNX_ELEM_TYPES;

/** A model whose output `out_<name>` is its input `<name>`, one pair per datatype given. */
export function buildIdentityModel(inputs: readonly { name: string; datatype: IdentityDatatype; dims: (number | string)[] }[]): Uint8Array {
  return ModelProto.encode(
    ModelProto.create({
      irVersion: 8,
      producerName: 'switchyard-test',
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'identity',
        node: inputs.map((input) => ({ opType: 'Identity', name: `id_${input.name}`, input: [input.name], output: [`out_${input.name}`] })),
        input: inputs.map((input) => valueInfo(input.name, ONNX_ELEM_TYPES[input.datatype], input.dims)),
        output: inputs.map((input) => valueInfo(`out_${input.name}`, ONNX_ELEM_TYPES[input.datatype], input.dims)),
      },
    }),
  ).finish();
}
