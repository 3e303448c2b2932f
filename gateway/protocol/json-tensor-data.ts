import { allocate, DATATYPE_INFO, type Datatype, type TensorArray } from '../../workers/protocol/datatypes.js';
import { ServingError } from '../../workers/protocol/errors.js';
import { fromBf16Bits, fromFp16Bits, toBf16Bits, toFp16Bits } from '../../workers/protocol/half-precision.js';
import { decodeBytesElements, elementCount, encodeBytesElements, type Tensor } from '../../workers/protocol/tensor.js';
import type { JsonNumbers } from '../http/infer-json.js';
import { SAFE_INTEGER } from '../http/exact-json.js';

/** Deeper `data` than any tensor's rank needs is refused (ONNX allows fewer dimensions than this). */
export const MAX_DATA_DEPTH = 64;

/**
 * Flattens OIP `data`, which may be flat or nested row-major, with an explicit stack: nesting
 * is the caller's to choose, and a recursive flatten (Array.prototype.flat) overflows the call
 * stack at ten thousand levels.
 */
export function flattenData(data: unknown[]): unknown[] {
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const stack: { readonly array: unknown[]; index: number }[] = [{ array: data, index: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.index === top.array.length) {
      stack.pop();
      continue;
    }
    const value = top.array[top.index];
    top.index += 1;
    if (!Array.isArray(value)) {
      out.push(value);
      continue;
    }
    if (stack.length >= MAX_DATA_DEPTH) throw new ServingError('invalid_request', `data is nested deeper than ${MAX_DATA_DEPTH} levels`);
    stack.push({ array: value, index: 0 });
  }
  return out;
}

/** An element, for a message: short, and never serialised whole (an object may nest without end). */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(shortened(value));
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

const shortened = (text: string): string => (text.length > 32 ? `${text.slice(0, 32)}…` : text);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * JSON values to a typed array of `datatype`; the message names the input and the bad element.
 * `isToken(index)`: the element was a bare NaN, Infinity or -Infinity token, which a
 * floating-point tensor takes as it is; any other value that is not finite, or that rounds to
 * infinity in the datatype (3.5e38 in FP32, 70000 in FP16), does not fit it.
 */
export function decodeJsonData(
  input: string,
  datatype: Datatype,
  values: readonly unknown[],
  isToken?: (index: number) => boolean,
): TensorArray {
  const bad = (index: number, expected: string): ServingError =>
    new ServingError(
      'datatype_mismatch',
      `input "${input}": element ${index} (${describe(values[index])}) is not ${expected} for datatype ${datatype}`,
    );

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
    const stored = datatype === 'FP16' ? fromFp16Bits : datatype === 'BF16' ? fromBf16Bits : datatype === 'FP32' ? Math.fround : undefined;
    for (let index = 0; index < values.length; index += 1) {
      let value = values[index];
      // An integer past 2^53 read exactly (parseJsonExact): the double JSON.parse gives for it.
      if (typeof value === 'bigint') value = Number(value);
      // 1e999 parses to Infinity; NaN and Infinity are only the bare tokens.
      if (typeof value !== 'number' || (!Number.isFinite(value) && !isToken?.(index))) throw bad(index, 'a finite number');
      const converted = convert(value);
      if (stored && Number.isFinite(value) && !Number.isFinite(stored(converted))) throw bad(index, 'a number in range');
      out[index] = converted;
    }
    return out;
  }
  const [min, max] = info.range;
  if (info.bigint) return wideIntegers(input, datatype, values.length, (index) => values[index], describe);
  for (let index = 0; index < values.length; index += 1) {
    let value = values[index];
    // An integer read exactly (parseJsonExact) is past 2^53, out of these types' range.
    if (typeof value === 'bigint') value = Number(value);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw bad(index, `an integer in [${String(min)}, ${String(max)}]`);
    }
    out[index] = value;
  }
  return out;
}

/**
 * INT64 or UINT64 values: integers, exact. `valueAt` gives each as a bigint (read from its text)
 * or a number; a number past 2^53 came through a double (JSON.parse) and may have been rounded,
 * so it is refused rather than taken as some other integer.
 */
function wideIntegers(
  input: string,
  datatype: Datatype,
  length: number,
  valueAt: (index: number) => unknown,
  describeAt: (value: unknown, index: number) => string,
): TensorArray {
  const out = allocate(datatype, length) as BigInt64Array | BigUint64Array;
  const [min, max] = DATATYPE_INFO[datatype].range as readonly [bigint, bigint];
  for (let index = 0; index < length; index += 1) {
    const value = valueAt(index);
    let integer: bigint | undefined;
    if (typeof value === 'bigint') integer = value;
    else if (typeof value === 'number' && Number.isSafeInteger(value)) integer = BigInt(value);
    else if (typeof value === 'number' && Number.isInteger(value) && value >= Number(min) && value <= Number(max)) {
      throw new ServingError(
        'datatype_mismatch',
        `input "${input}": element ${index} (${describeAt(value, index)}) is past 2^53, where this body's numbers were read as doubles and may have been rounded: send it as plain integer text in "data", or in binary`,
      );
    }
    if (integer === undefined || integer < min || integer > max) {
      throw new ServingError(
        'datatype_mismatch',
        `input "${input}": element ${index} (${describeAt(value, index)}) is not an integer in [${min}, ${max}] for datatype ${datatype}`,
      );
    }
    out[index] = integer;
  }
  return out;
}

/** decodeJsonData for numbers read from the body's bytes: FP32 straight into its array, any other type (or a refusal) as from JSON.parse. */
export function decodeJsonNumbers(input: string, datatype: Datatype, numbers: JsonNumbers): TensorArray {
  if (datatype === 'FP32') {
    const out = numbers.toFloat32();
    if (out) return out;
  }
  if (DATATYPE_INFO[datatype].bigint && !numbers.tokens) {
    // Read from the numbers' text: past 2^53 their doubles are not the integers sent.
    // Not an integer: as JSON.parse would have read it where that is exact (a message as before), else undefined.
    const valueAt = (index: number): bigint | number | undefined => {
      const integer = numbers.integerAt(index);
      if (integer !== undefined) return integer;
      const value = numbers.at(index);
      return Math.abs(value) <= Number.MAX_SAFE_INTEGER ? value : undefined;
    };
    return wideIntegers(input, datatype, numbers.length, valueAt, (value, index) =>
      typeof value === 'number' ? describe(value) : shortened(numbers.text(index)),
    );
  }
  if (!numbers.tokens) return decodeJsonData(input, datatype, numbers.toArray());
  if (DATATYPE_INFO[datatype].range !== undefined || datatype === 'BOOL' || datatype === 'BYTES') {
    throw new ServingError(
      'invalid_json',
      `input "${input}": NaN and Infinity are JSON only in the data of a floating-point tensor, not ${datatype}`,
    );
  }
  return decodeJsonData(input, datatype, numbers.toArray(), (index) => numbers.isToken(index));
}

/**
 * The most values an answer carries as JSON. It is encoded and written on the event loop (2 cores:
 * the slowest health check during a 523,375-value answer, 12 MB, was 92-100 ms; 861,000 values,
 * 200-360 ms), and past about 25M values the text is longer than V8's longest string (a RangeError,
 * a 500); larger answers go binary, which costs no encoding. 2^20 lets the recognizer's 640- and
 * 1,000-pixel lines through as JSON (530,000 and 830,000 values), at a few hundred ms at most.
 */
export const JSON_OUTPUT_MAX_VALUES = 1 << 20;

/**
 * The most tensor bytes an answer carries as JSON: a few BYTES values can be any size (one 60 MiB
 * value stalled health checks 732 ms while it was decoded and stringified). 16 MiB is about 200 ms;
 * 2^20 numbers are at most 8 MiB, so this bounds text, the values limit numbers.
 */
export const JSON_OUTPUT_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Refuses, before any is encoded, outputs with more values than JSON_OUTPUT_MAX_VALUES or more
 * bytes than JSON_OUTPUT_MAX_BYTES; `binary` says how to ask for them otherwise.
 */
export function refuseLargeJsonOutputs(tensors: readonly Tensor[], binary: string): void {
  let values = 0;
  let bytes = 0;
  for (const tensor of tensors) {
    values += elementCount(tensor.shape);
    bytes += tensor.data.byteLength;
  }
  if (values > JSON_OUTPUT_MAX_VALUES) {
    throw new ServingError(
      'json_output_too_large',
      `the answer holds ${values} values, more than the ${JSON_OUTPUT_MAX_VALUES} sent as JSON: ${binary}`,
    );
  }
  if (bytes > JSON_OUTPUT_MAX_BYTES) {
    throw new ServingError(
      'json_output_too_large',
      `the answer holds ${bytes} bytes of tensor data, more than the ${JSON_OUTPUT_MAX_BYTES} (16 MiB) sent as JSON: ${binary}`,
    );
  }
}

/**
 * A typed array back to JSON values. INT64 and UINT64 values past 2^53 are bigints, which
 * stringifyJson (http/exact-json.ts) writes as exact integer text, as Triton does; JSON.stringify refuses them.
 */
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
      return Array.from(data as BigInt64Array, (value) => (value <= SAFE_INTEGER && value >= -SAFE_INTEGER ? Number(value) : value));
    default:
      return Array.from(data as Float32Array);
  }
}
