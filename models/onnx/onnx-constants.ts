/**
 * Named values of the enums in onnx.proto, as plain constants so builders and the
 * quantization tool can use them in types. A unit test checks them against the .proto.
 */

/** TensorProto.DataType: the element type of a tensor (TensorProto.data_type, TypeProto.Tensor.elem_type). */
export const TensorDataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
} as const;
export type TensorDataType = (typeof TensorDataType)[keyof typeof TensorDataType];

/** AttributeProto.AttributeType: which of an attribute's value fields is set. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;
export type AttributeType = (typeof AttributeType)[keyof typeof AttributeType];

/** TensorProto.DataLocation: whether a tensor's bytes are in the model or in an external file. */
export const TensorDataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;
export type TensorDataLocation = (typeof TensorDataLocation)[keyof typeof TensorDataLocation];

// The short names the model builders have always used.
export const ONNX_FLOAT = TensorDataType.FLOAT;
export const ONNX_INT64 = TensorDataType.INT64;
export const ATTRIBUTE_FLOAT = AttributeType.FLOAT;
export const ATTRIBUTE_INT = AttributeType.INT;
export const ATTRIBUTE_STRING = AttributeType.STRING;
export const ATTRIBUTE_TENSOR = AttributeType.TENSOR;
export const ATTRIBUTE_FLOATS = AttributeType.FLOATS;
export const ATTRIBUTE_INTS = AttributeType.INTS;
