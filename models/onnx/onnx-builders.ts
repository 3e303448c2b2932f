import { ONNX_FLOAT, TensorDataType } from './onnx-constants.js';
import type { TensorProto, ValueInfoProto } from './onnx-messages.js';

/** A graph input or output: a tensor of `elemType` whose dims are sizes or symbolic names ('batch'). */
export function valueInfo(name: string, elemType: TensorDataType, dims: readonly (number | string)[]): ValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

/** A float32 initializer stored as raw_data (little-endian), the layout onnxruntime reads fastest. */
export function floatInitializer(name: string, dims: readonly number[], values: Float32Array): TensorProto {
  return {
    name,
    dims: [...dims],
    dataType: ONNX_FLOAT,
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  };
}

/** An int64 initializer stored as raw_data, e.g. the target shape of a Reshape. */
export function int64Initializer(name: string, dims: readonly number[], values: BigInt64Array): TensorProto {
  return {
    name,
    dims: [...dims],
    dataType: TensorDataType.INT64,
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  };
}
