/**
 * The Open Inference Protocol's tensor datatypes and how each is held in memory.
 * BYTES tensors are held in the binary-extension wire layout (4-byte little-endian
 * length, then the bytes, per element) so every tensor is one transferable buffer.
 */
export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'BF16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

export type Datatype = (typeof DATATYPES)[number];

export type TensorArray =
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

type ArrayFactory = (buffer: ArrayBuffer, byteOffset: number, length: number) => TensorArray;

interface DatatypeInfo {
  /** Bytes per element; 0 for BYTES, whose elements vary in size. */
  readonly bytes: number;
  readonly view: ArrayFactory;
  /** JSON numbers must be integers in this range (floats: undefined). */
  readonly range?: readonly [number | bigint, number | bigint];
  readonly bigint?: boolean;
}

export const DATATYPE_INFO: Readonly<Record<Datatype, DatatypeInfo>> = {
  BOOL: { bytes: 1, view: (b, o, n) => new Uint8Array(b, o, n), range: [0, 1] },
  UINT8: { bytes: 1, view: (b, o, n) => new Uint8Array(b, o, n), range: [0, 255] },
  UINT16: { bytes: 2, view: (b, o, n) => new Uint16Array(b, o, n), range: [0, 65535] },
  UINT32: { bytes: 4, view: (b, o, n) => new Uint32Array(b, o, n), range: [0, 4294967295] },
  UINT64: { bytes: 8, view: (b, o, n) => new BigUint64Array(b, o, n), range: [0n, 18446744073709551615n], bigint: true },
  INT8: { bytes: 1, view: (b, o, n) => new Int8Array(b, o, n), range: [-128, 127] },
  INT16: { bytes: 2, view: (b, o, n) => new Int16Array(b, o, n), range: [-32768, 32767] },
  INT32: { bytes: 4, view: (b, o, n) => new Int32Array(b, o, n), range: [-2147483648, 2147483647] },
  INT64: { bytes: 8, view: (b, o, n) => new BigInt64Array(b, o, n), range: [-9223372036854775808n, 9223372036854775807n], bigint: true },
  FP16: { bytes: 2, view: (b, o, n) => new Uint16Array(b, o, n) },
  BF16: { bytes: 2, view: (b, o, n) => new Uint16Array(b, o, n) },
  FP32: { bytes: 4, view: (b, o, n) => new Float32Array(b, o, n) },
  FP64: { bytes: 8, view: (b, o, n) => new Float64Array(b, o, n) },
  BYTES: { bytes: 0, view: (b, o, n) => new Uint8Array(b, o, n) },
};

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && (DATATYPES as readonly string[]).includes(value);
}

/** A typed array of `count` elements of `datatype` over fresh memory (BYTES: `count` bytes). */
export function allocate(datatype: Datatype, count: number): TensorArray {
  const info = DATATYPE_INFO[datatype];
  const bytes = info.bytes === 0 ? count : count * info.bytes;
  return info.view(new ArrayBuffer(bytes), 0, info.bytes === 0 ? bytes : count);
}

/**
 * Views raw little-endian bytes as a typed array of `datatype`, copying only when the
 * bytes are not aligned for the element size (typed arrays need aligned offsets).
 */
export function viewBytes(datatype: Datatype, bytes: Uint8Array): TensorArray {
  const info = DATATYPE_INFO[datatype];
  const size = info.bytes === 0 ? 1 : info.bytes;
  const count = bytes.byteLength / size;
  if (bytes.byteOffset % size === 0) return info.view(bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return info.view(copy.buffer, 0, count);
}
