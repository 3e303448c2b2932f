import { walkBytesElements } from '../../workers/protocol/tensor.js';

/**
 * A ModelInferRequest's bytes_contents read straight into the binary extension's BYTES layout
 * (a uint32 LE length, then the bytes, per element): a 12 MB message can hold 4 million
 * elements, and a Buffer per element then a copy into the layout took seconds of the event loop.
 * `length` is the element count, as an array of them would have.
 */
export class BytesLayout {
  #data = new Uint8Array(256);
  #size = 0;
  length = 0;

  append(source: Uint8Array, start: number, end: number): void {
    const length = end - start;
    this.#reserve(4 + length);
    const needed = this.#size + 4 + length;
    const at = this.#size;
    this.#data[at] = length & 0xff;
    this.#data[at + 1] = (length >>> 8) & 0xff;
    this.#data[at + 2] = (length >>> 16) & 0xff;
    this.#data[at + 3] = length >>> 24;
    // Short elements byte by byte: a view per element is what this class exists to avoid.
    if (length <= 32) for (let from = start, to = at + 4; from < end; from += 1, to += 1) this.#data[to] = source[from]!;
    else this.#data.set(source.subarray(start, end), at + 4);
    this.#size = needed;
    this.length += 1;
  }

  /**
   * Appends the elements at `pos` in a protobuf message for as long as each is `tag` (one byte)
   * and a one-byte length, up to `end`; returns where it stopped. Millions of short elements are
   * how a small message becomes a long stall, so this loop works on locals alone.
   */
  appendShortRun(source: Uint8Array, pos: number, end: number, tag: number): number {
    // Laid out, an element takes at most twice its wire bytes (4 + length against 2 + length).
    this.#reserve(2 * (end - pos));
    const data = this.#data;
    let size = this.#size;
    let count = 0;
    while (pos + 1 < end && source[pos] === tag && source[pos + 1]! < 0x80) {
      const length = source[pos + 1]!;
      const from = pos + 2;
      if (from + length > end) break;
      data[size] = length;
      data[size + 1] = 0;
      data[size + 2] = 0;
      data[size + 3] = 0;
      size += 4;
      for (let at = from; at < from + length; at += 1) data[size++] = source[at]!;
      pos = from + length;
      count += 1;
    }
    this.#size = size;
    this.length += count;
    return pos;
  }

  #reserve(extra: number): void {
    const needed = this.#size + extra;
    if (needed <= this.#data.byteLength) return;
    const grown = new Uint8Array(Math.max(needed, this.#data.byteLength * 2));
    grown.set(this.#data.subarray(0, this.#size));
    this.#data = grown;
  }

  get byteLength(): number {
    return this.#size;
  }

  /** Each element as a view, for the rare caller that needs the message re-encoded (fingerprints, review). */
  elements(): Buffer[] {
    const data = Buffer.from(this.#data.buffer, this.#data.byteOffset, this.#size);
    const out: Buffer[] = [];
    walkBytesElements(data, (start, end) => {
      out.push(data.subarray(start, end));
      return true;
    });
    return out;
  }

  /** The layout, in memory of its own. */
  data(): Uint8Array {
    return this.#data.slice(0, this.#size);
  }
}
