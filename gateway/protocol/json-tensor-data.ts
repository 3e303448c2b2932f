import { allocate, DATATYPE_INFO, type Datatype, type TensorArray } from '../../workers/protocol/datatypes.js';
import { ServingError } from '../../workers/protocol/errors.js';
import { fromBf16Bits, fromFp16Bits, toBf16Bits, toFp16Bits } from '../../workers/protocol/half-precision.js';
import { decodeBytesElements, encodeBytesElements } from '../../workers/protocol/tensor.js';

/** Flattens OIP `data`, which may be flat or nested row-major. */
export function flattenData(data: unknown[]): unknown[] {
  if (!data.some(Array.isArray)) return data;
  return data.flat(Number.POSITIVE_INFINITY);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON values to a typed array of `datatype`; the message names the input and the bad element. */
export function decodeJsonData(input: string, datatype: Datatype, values: readonly unknown[]): TensorArray {
  const bad = (index: number, expected: string): ServingError =>
    new ServingError('datatype_mismatch', `input "${input}": element ${index} (${JSON.stringify(values[index]) ?? 'undefined'}) is not ${expected} for datatype ${datatype}`);

  if (datatype === 'BYTES') {
    return encodeBytesElements(
      values.map((value, index) => {
        if (typeof value !== 'string') throw bad(index, 'a string');
        return encoder.encode(value);
      }),
    );
  }
  const out = allocate(datatype, values.length);
  const info = DATATYPE_INFO[datatype];
  if (datatype === 'BOOL') {
    values.forEach((value, index) => {
      if (typeof value !== 'boolean') throw bad(index, 'true or false');
      out[index] = value ? 1 : 0;
    });
    return out;
  }
  if (info.range === undefined) {
    const convert = datatype === 'FP16' ? toFp16Bits : datatype === 'BF16' ? toBf16Bits : (value: number) => value;
    for (let index = 0; index < values.length; index += 1) {
      const value = values[index];
      if (typeof value !== 'number') throw bad(index, 'a number');
      out[index] = convert(value);
    }
    return out;
  }
  const [min, max] = info.range;
  for (let index = 0; index < values.length; index += 1) {
    const value = values[index];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw bad(index, `an integer in [${String(min)}, ${String(max)}]`);
    }
    out[index] = info.bigint ? BigInt(value) : value;
  }
  return out;
}

/** A typed array back to JSON values (INT64 beyond 2^53 loses precision, as in every JSON client). */
export function encodeJsonData(datatype: Datatype, data: TensorArray): unknown[] {
  switch (datatype) {
    case 'BYTES':
      return (decodeBytesElements(data as Uint8Array) ?? []).map((bytes) => decoder.decode(bytes));
    case 'BOOL':
      return Array.from(data as Uint8Array, (value) => value !== 0);
    case 'FP16':
      return Array.from(data as Uint16Array, fromFp16Bits);
    case 'BF16':
      return Array.from(data as Uint16Array, fromBf16Bits);
    case 'INT64':
    case 'UINT64':
      return Array.from(data as BigInt64Array, Number);
    default:
      return Array.from(data as Float32Array);
  }
}
