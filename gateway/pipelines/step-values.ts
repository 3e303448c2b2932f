import { encodeBytesElements, type Tensor } from '../../workers/protocol/tensor.js';
import { TransformInputError } from './transforms/transform.js';

export function isTensor(value: unknown): value is Tensor {
  return typeof value === 'object' && value !== null && 'datatype' in value && 'shape' in value && 'data' in value;
}

/**
 * A value as one model input: tensors go as they are (renamed to the port); encoded
 * media (bytes) go as a one-row BYTES tensor, decoded by the model's declared image or
 * audio preprocessing in the worker.
 */
export function asModelInput(port: string, value: unknown, where: string): Tensor {
  if (isTensor(value)) return { ...value, name: port };
  if (value instanceof Uint8Array) return { name: port, datatype: 'BYTES', shape: [1], data: encodeBytesElements([value]) };
  throw new TransformInputError(`${where}: input "${port}" needs a tensor or encoded media, not ${describe(value)}`);
}

/** A mapped step's input: a list, one element per request. */
export function asList(port: string, value: unknown, where: string): readonly unknown[] {
  if (!Array.isArray(value))
    throw new TransformInputError(`${where}: input "${port}" of a mapped step needs a list, not ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : typeof value;
}
