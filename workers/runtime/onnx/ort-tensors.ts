import ort from 'onnxruntime-node';
import type { Datatype, TensorArray } from '../../protocol/datatypes.js';
import { decodeBytesElements, encodeBytesElements, type Tensor } from '../../protocol/tensor.js';

const TO_ORT: Partial<Record<Datatype, ort.Tensor.Type>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

const FROM_ORT: Partial<Record<string, Datatype>> = Object.fromEntries(
  Object.entries(TO_ORT).map(([datatype, ortType]) => [ortType, datatype as Datatype]),
);

/** Datatypes onnxruntime-node can take (it has no bfloat16 tensors). */
export function ortSupports(datatype: Datatype): boolean {
  return datatype in TO_ORT;
}

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

export function toOrtTensor(tensor: Tensor): ort.Tensor {
  const type = TO_ORT[tensor.datatype];
  if (!type) throw new Error(`onnxruntime-node has no ${tensor.datatype} tensors`);
  const dims = [...tensor.shape];
  if (type === 'string') {
    const strings = (decodeBytesElements(tensor.data as Uint8Array) ?? []).map((bytes) => utf8.decode(bytes));
    return new ort.Tensor('string', strings, dims);
  }
  return new ort.Tensor(type, tensor.data as ort.Tensor.DataType, dims);
}

export function fromOrtTensor(name: string, value: ort.OnnxValue): Tensor {
  const tensor = value as ort.Tensor;
  const datatype = FROM_ORT[tensor.type];
  if (!datatype) throw new Error(`output ${name} has type ${tensor.type}, which Switchyard cannot return`);
  const shape = tensor.dims.map(Number);
  if (datatype === 'BYTES') {
    const strings = tensor.data as string[];
    return { name, datatype, shape, data: encodeBytesElements(strings.map((text) => encoder.encode(text))) };
  }
  return { name, datatype, shape, data: tensor.data as TensorArray };
}
