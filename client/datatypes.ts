/** The Open Inference Protocol's datatypes and the typed arrays the client holds them in. */
export type Datatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'BF16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

export type NumericArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/** BYTES tensors: strings (UTF-8 on the wire) or raw byte strings. */
export type BytesElements = readonly string[] | readonly Uint8Array[];
export type TensorData = NumericArray | BytesElements;

type View = (buffer: ArrayBuffer, offset: number, length: number) => NumericArray;

/** Bytes per element and the array type; FP16 and BF16 are their raw bits in a Uint16Array, BOOL is 0/1 in a Uint8Array. */
const LAYOUT: Readonly<Record<Exclude<Datatype, 'BYTES'>, { bytes: number; view: View }>> = {
  BOOL: { bytes: 1, view: (b, o, n) => new Uint8Array(b, o, n) },
  UINT8: { bytes: 1, view: (b, o, n) => new Uint8Array(b, o, n) },
  UINT16: { bytes: 2, view: (b, o, n) => new Uint16Array(b, o, n) },
  UINT32: { bytes: 4, view: (b, o, n) => new Uint32Array(b, o, n) },
  UINT64: { bytes: 8, view: (b, o, n) => new BigUint64Array(b, o, n) },
  INT8: { bytes: 1, view: (b, o, n) => new Int8Array(b, o, n) },
  INT16: { bytes: 2, view: (b, o, n) => new Int16Array(b, o, n) },
  INT32: { bytes: 4, view: (b, o, n) => new Int32Array(b, o, n) },
  INT64: { bytes: 8, view: (b, o, n) => new BigInt64Array(b, o, n) },
  FP16: { bytes: 2, view: (b, o, n) => new Uint16Array(b, o, n) },
  BF16: { bytes: 2, view: (b, o, n) => new Uint16Array(b, o, n) },
  FP32: { bytes: 4, view: (b, o, n) => new Float32Array(b, o, n) },
  FP64: { bytes: 8, view: (b, o, n) => new Float64Array(b, o, n) },
};

export function isDatatype(value: unknown): value is Datatype {
  return value === 'BYTES' || (typeof value === 'string' && Object.hasOwn(LAYOUT, value));
}

/** The datatype a typed array stands for when none is given (Uint16Array: UINT16; say FP16 or BF16 explicitly). */
export function datatypeOf(data: TensorData): Datatype {
  if (Array.isArray(data)) return 'BYTES';
  if (data instanceof Float32Array) return 'FP32';
  if (data instanceof Float64Array) return 'FP64';
  if (data instanceof Int32Array) return 'INT32';
  if (data instanceof BigInt64Array) return 'INT64';
  if (data instanceof Uint8Array) return 'UINT8';
  if (data instanceof Int8Array) return 'INT8';
  if (data instanceof Int16Array) return 'INT16';
  if (data instanceof Uint16Array) return 'UINT16';
  if (data instanceof Uint32Array) return 'UINT32';
  if (data instanceof BigUint64Array) return 'UINT64';
  throw new TypeError('tensor data must be a typed array or an array of strings / Uint8Arrays');
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** BYTES elements in the binary extension's layout: per element a uint32 LE length, then the bytes. */
export function encodeBytes(elements: BytesElements): Uint8Array {
  const parts = elements.map((element) => (typeof element === 'string' ? encoder.encode(element) : element));
  const out = new Uint8Array(parts.reduce((total, part) => total + 4 + part.byteLength, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of parts) {
    view.setUint32(offset, part.byteLength, true);
    out.set(part, offset + 4);
    offset += 4 + part.byteLength;
  }
  return out;
}

/** The reverse of encodeBytes; each element as a Uint8Array (a view, no copy). */
export function decodeBytes(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const elements: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.byteLength; ) {
    if (offset + 4 > bytes.byteLength) throw new RangeError('BYTES data is truncated');
    const length = view.getUint32(offset, true);
    if (offset + 4 + length > bytes.byteLength) throw new RangeError('BYTES element runs past the data');
    elements.push(bytes.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return elements;
}

export const utf8 = (bytes: Uint8Array): string => decoder.decode(bytes);

/** A tensor's raw little-endian bytes for the binary extension (typed arrays are little-endian on every platform Node runs on). */
export function tensorBytes(data: TensorData): Uint8Array {
  if (Array.isArray(data)) return encodeBytes(data as BytesElements);
  const typed = data as NumericArray;
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

/** Raw bytes as the datatype's typed array, copied when unaligned (typed arrays need aligned offsets). */
export function viewTensor(datatype: Exclude<Datatype, 'BYTES'>, bytes: Uint8Array): NumericArray {
  const { bytes: size, view } = LAYOUT[datatype];
  if (bytes.byteLength % size !== 0) throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${datatype} elements`);
  if (bytes.byteOffset % size === 0) return view(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / size);
  const copy = new Uint8Array(bytes);
  return view(copy.buffer, 0, bytes.byteLength / size);
}

/** A fresh typed array of `count` elements of the datatype. */
export function allocate(datatype: Exclude<Datatype, 'BYTES'>, count: number): NumericArray {
  const { bytes, view } = LAYOUT[datatype];
  return view(new ArrayBuffer(count * bytes), 0, count);
}
