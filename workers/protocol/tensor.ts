import { allocate, DATATYPE_INFO, type Datatype, type TensorArray } from './datatypes.js';

/** One named tensor. BYTES data is the length-prefixed layout of the binary extension. */
export interface Tensor {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
  readonly data: TensorArray;
}

export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

/** Encodes byte strings as BYTES data: per element a uint32 LE length, then the bytes. */
export function encodeBytesElements(elements: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const element of elements) total += 4 + element.byteLength;
  const out = allocate('BYTES', total) as Uint8Array;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let offset = 0;
  for (const element of elements) {
    view.setUint32(offset, element.byteLength, true);
    out.set(element, offset + 4);
    offset += 4 + element.byteLength;
  }
  return out;
}

/** Splits BYTES data into its elements (views, no copy); null when the layout is broken. */
export function decodeBytesElements(data: Uint8Array): Uint8Array[] | null {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const elements: Uint8Array[] = [];
  let offset = 0;
  while (offset < data.byteLength) {
    if (offset + 4 > data.byteLength) return null;
    const length = view.getUint32(offset, true);
    const start = offset + 4;
    if (start + length > data.byteLength) return null;
    elements.push(data.subarray(start, start + length));
    offset = start + length;
  }
  return elements;
}

/**
 * Calls `visit` with each BYTES element's byte range [start, end) in `data`, without making an
 * object per element (a 60 MB body can hold 12 million of them); stops early when `visit`
 * returns false. The number of elements visited, or null when the layout is broken.
 */
export function walkBytesElements(
  data: Uint8Array,
  visit?: (start: number, end: number, index: number) => boolean | undefined,
): number | null {
  const length = data.byteLength;
  let offset = 0;
  let index = 0;
  while (offset < length) {
    if (offset + 4 > length) return null;
    const start = offset + 4;
    // Little-endian uint32 read by hand: a DataView per call would cost more than the walk.
    const end = start + (data[offset]! | (data[offset + 1]! << 8) | (data[offset + 2]! << 16)) + data[offset + 3]! * 0x1000000;
    if (end > length) return null;
    if (visit && visit(start, end, index) === false) return index + 1;
    index += 1;
    offset = end;
  }
  return index;
}

/** Number of elements the data holds (BYTES: counted through the length prefixes). */
export function dataElementCount(datatype: Datatype, data: TensorArray): number | null {
  if (DATATYPE_INFO[datatype].bytes !== 0) return data.length;
  return walkBytesElements(data as Uint8Array);
}
