import { describe, expect, it } from 'vitest';
import { BytesLayout } from '../../gateway/grpc/bytes-layout.js';
import { decodeBytesElements, encodeBytesElements, walkBytesElements } from '../../workers/protocol/tensor.js';
import { concatRows, splitRows } from '../../workers/protocol/tensor-rows.js';

/** Elements of random lengths (0 to 300 bytes, many short ones), from a fixed seed. */
function randomElements(count: number, seed: number): Uint8Array[] {
  let state = seed;
  const next = (): number => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  return Array.from({ length: count }, () => {
    const length = next() < 0.7 ? Math.floor(next() * 4) : Math.floor(next() * 300);
    return Uint8Array.from({ length }, () => Math.floor(next() * 256));
  });
}

const bytesTensor = (elements: Uint8Array[], shape: number[]) => ({
  name: 'x',
  datatype: 'BYTES' as const,
  shape,
  data: encodeBytesElements(elements),
});

describe('BYTES data walked without an object per element', () => {
  it('visits the same ranges the per-element decoder gives, and stops when told', () => {
    const elements = randomElements(500, 7);
    const data = encodeBytesElements(elements);
    const ranges: [number, number][] = [];
    expect(walkBytesElements(data, (start, end) => void ranges.push([start, end]))).toBe(500);
    expect(ranges.map(([start, end]) => data.subarray(start, end))).toEqual(decodeBytesElements(data));
    expect(walkBytesElements(data, (_start, _end, index) => index < 9)).toBe(10);
    expect(walkBytesElements(new Uint8Array(0))).toBe(0);
  });

  it('a broken layout is null, as the decoder says', () => {
    const data = encodeBytesElements(randomElements(20, 3));
    for (const cut of [1, 2, 3, 5, data.length - 1]) {
      const broken = data.subarray(0, data.length - cut);
      expect(walkBytesElements(broken) === null).toBe(decodeBytesElements(broken) === null);
    }
    // A length prefix of 2^32 - 1 past the end (a read as a signed int would make it negative).
    expect(walkBytesElements(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 1, 2]))).toBeNull();
  });

  it('rows join and split by bytes exactly as element lists do', () => {
    const parts = [3, 1, 4].map((rows, index) => bytesTensor(randomElements(rows * 2, index + 1), [rows, 2]));
    const joined = concatRows(parts);
    expect(joined.shape).toEqual([8, 2]);
    expect(decodeBytesElements(joined.data as Uint8Array)).toEqual(parts.flatMap((part) => decodeBytesElements(part.data as Uint8Array)));
    const split = splitRows(joined, [3, 0, 1, 4]);
    expect(split.map((tensor) => tensor.shape)).toEqual([
      [3, 2],
      [0, 2],
      [1, 2],
      [4, 2],
    ]);
    expect(split.map((tensor) => decodeBytesElements(tensor.data as Uint8Array))).toEqual([
      decodeBytesElements(parts[0]!.data as Uint8Array),
      [],
      decodeBytesElements(parts[1]!.data as Uint8Array),
      decodeBytesElements(parts[2]!.data as Uint8Array),
    ]);
  });

  it("gRPC's laid-out bytes_contents equal the binary extension's layout, long and short elements mixed", () => {
    const elements = randomElements(300, 11);
    const wire: number[] = [];
    for (const element of elements) {
      wire.push(0x42);
      let length = element.length;
      while (length >= 0x80) {
        wire.push((length & 0x7f) | 0x80);
        length >>>= 7;
      }
      wire.push(length, ...element);
    }
    const source = Uint8Array.from(wire);
    const layout = new BytesLayout();
    let pos = 0;
    while (pos < source.length) {
      // What the reader does: one element by its varint length, then the short run after it.
      pos += 1;
      let length = 0;
      let shift = 0;
      for (;;) {
        const byte = source[pos++]!;
        length += (byte & 0x7f) * 2 ** shift;
        shift += 7;
        if (byte < 0x80) break;
      }
      layout.append(source, pos, pos + length);
      pos = layout.appendShortRun(source, pos + length, source.length, 0x42);
    }
    expect(layout.length).toBe(300);
    expect(layout.data()).toEqual(encodeBytesElements(elements));
    expect(layout.elements().map((element) => Uint8Array.from(element))).toEqual(elements);
  });
});
