import * as tf from '@tensorflow/tfjs';
import type { Datatype } from '../../protocol/datatypes.js';
import type { Tensor } from '../../protocol/tensor.js';

const TO_TF: Partial<Record<Datatype, 'float32' | 'int32' | 'bool'>> = { FP32: 'float32', INT32: 'int32', BOOL: 'bool' };

/** A tfjs tensor over the request's data (config validation admits only FP32, INT32, BOOL). */
export function toTfTensor(tensor: Tensor): tf.Tensor {
  const dtype = TO_TF[tensor.datatype];
  if (!dtype) throw new Error(`input ${tensor.name} is ${tensor.datatype}; the TF runtime takes FP32, INT32 and BOOL`);
  return tf.tensor(tensor.data as Float32Array | Int32Array | Uint8Array, [...tensor.shape], dtype);
}

/** Reads a tfjs tensor back; the caller disposes it. */
export function fromTfTensor(name: string, tensor: tf.Tensor): Tensor {
  const shape = [...tensor.shape];
  switch (tensor.dtype) {
    case 'float32':
      return { name, datatype: 'FP32', shape, data: tensor.dataSync() as Float32Array };
    case 'int32':
      return { name, datatype: 'INT32', shape, data: tensor.dataSync() as Int32Array };
    case 'bool':
      return { name, datatype: 'BOOL', shape, data: tensor.dataSync() as Uint8Array };
    default:
      throw new Error(`output ${name} is ${tensor.dtype}, which Switchyard cannot return`);
  }
}
