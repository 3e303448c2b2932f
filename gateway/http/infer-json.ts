/**
 * A JSON reader for OIP infer bodies that reads each input's `data` numbers straight from the
 * body's bytes into a flat store, instead of JSON.parse building an array of boxed numbers
 * that is then flattened and copied into a typed array: the largest per-request cost of a
 * small model's JSON request. Everything else in the body becomes what JSON.parse gives.
 *
 * It never decides an error. On anything it does not read exactly as JSON.parse would (a
 * syntax error, a `__proto__` key, deep nesting, `data` that is not all numbers) it answers
 * undefined and the caller parses the body with JSON.parse, so malformed bodies get the same
 * errors as before, and valid ones the same values (test/unit/infer-json.test.ts checks both).
 *
 * One extension: in `data`, the bare tokens NaN, Infinity and -Infinity that tritonclient.http
 * writes (rapidjson, as Triton reads them) are numbers; the decoder refuses them for a datatype
 * that is not floating-point.
 */

import { exactInteger } from './exact-json.js';

/** Numbers of one `data` array (nested arrays flattened, row-major), as JSON.parse reads them. */
export class JsonNumbers {
  constructor(
    readonly source: Buffer,
    readonly length: number,
    /** Each number's value: the double JSON.parse gives, or (see `starts`) an approximation; NaN: read its text. */
    readonly values: Float64Array,
    /** Each number's first byte in `source`; -1 - that when its value is approximate (short by at most APPROX_REL). */
    readonly starts: Int32Array,
    /** Whether any is a bare NaN, Infinity or -Infinity token. */
    readonly tokens: boolean,
  ) {}

  /** Whether the index-th number is a bare NaN, Infinity or -Infinity token (not a number JSON.parse reads). */
  isToken(index: number): boolean {
    const start = this.starts[index]!;
    const c = this.source[start < 0 ? -1 - start : start];
    return c === 0x4e || c === 0x49 || (c === 0x2d && this.source[(start < 0 ? -1 - start : start) + 1] === 0x49);
  }

  /** The index-th number exactly as JSON.parse reads it. */
  at(index: number): number {
    const start = this.starts[index]!;
    const value = this.values[index]!;
    if (start >= 0 && !Number.isNaN(value)) return value;
    return Number(this.text(index));
  }

  /** The index-th number's text, as the body has it. */
  text(index: number): string {
    const start = this.starts[index]!;
    const from = start < 0 ? -1 - start : start;
    return this.source.toString('latin1', from, numberEnd(this.source, from));
  }

  /**
   * The index-th number as the integer its text says, exactly (INT64 and UINT64 past 2^53, which
   * no double holds); undefined when it is not an integer (or is far past any 64-bit range).
   */
  integerAt(index: number): bigint | undefined {
    const value = this.values[index]!;
    // A value read exactly that is an integer below 2^53: with at most 15 significant digits its text is that integer.
    if (this.starts[index]! >= 0 && Number.isSafeInteger(value)) return BigInt(value);
    return exactInteger(this.text(index));
  }

  toArray(): number[] {
    const out = new Array<number>(this.length);
    for (let index = 0; index < this.length; index += 1) out[index] = this.at(index);
    return out;
  }

  /**
   * The numbers as FP32, each the float32 nearest the double JSON.parse gives (what storing
   * it in a Float32Array does). Undefined when a number does not fit FP32 (it would round to
   * infinity), which the caller refuses with its own message; the NaN and Infinity tokens pass.
   */
  toFloat32(): Float32Array | undefined {
    const out = new Float32Array(this.length);
    const { values, starts } = this;
    for (let index = 0; index < this.length; index += 1) {
      const value = values[index]!;
      // A value read here is below 10^15 * 10^22, well inside FP32's range (or a bare Infinity token).
      if (starts[index]! >= 0 && !Number.isNaN(value)) {
        out[index] = value;
        continue;
      }
      if (!Number.isNaN(value)) {
        // The exact double lies between these two; when they round to one float32, so does it.
        const low = Math.fround(value * (1 - 2 ** -50));
        if (low === Math.fround(value * (1 + APPROX_REL))) {
          out[index] = low;
          continue;
        }
      }
      const exact = this.at(index);
      if (!Number.isFinite(Math.fround(exact)) && !this.isToken(index)) return undefined;
      out[index] = exact;
    }
    return out;
  }
}

/** Where the number text starting at `start` ends (its grammar was checked when it was read). */
function numberEnd(source: Buffer, start: number): number {
  let end = start;
  for (;;) {
    const c = source[end];
    // - + . 0-9 E e, and the letters of NaN and Infinity (Number() reads those tokens too)
    if (
      c === undefined ||
      !(c === 0x2d || c === 0x2b || c === 0x2e || (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a))
    )
      return end;
    end += 1;
  }
}

/**
 * How far below the exact value an approximate one may be: 15 significant digits kept (the
 * rest cut, at most 1e-14 of the value) and one rounding of the scaling, with margin.
 */
const APPROX_REL = 3e-14;
/** Significant digits a double holds exactly as an integer (10^15 < 2^53). */
const MAX_DIGITS = 15;
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);
/** Deeper values are left to JSON.parse (and then refused by the reader of `data`, when they are in it). */
const MAX_DEPTH = 48;

/** Where a value sits, for the reader to know a `data` to read as numbers. */
const Context = {
  Plain: 0,
  /** The body's top-level object: its `inputs` array is read as inputs. */
  Body: 1,
  /** The top-level `inputs` array: its objects are inputs. */
  Inputs: 2,
  /** One input: its `data` is read as numbers when it is all numbers. */
  Input: 3,
} as const;
type Context = (typeof Context)[keyof typeof Context];

/**
 * Where `data` numbers go as they are read, before each array's are copied out: one per
 * thread, reused by every body (reading is synchronous), let go when a body made it large.
 */
class NumberStore {
  count = 0;
  /** Bare NaN / Infinity tokens read so far. */
  tokens = 0;
  values = new Float64Array(STORE_KEPT);
  starts = new Int32Array(STORE_KEPT);

  grow(): void {
    const values = new Float64Array(this.values.length * 2);
    values.set(this.values);
    this.values = values;
    const starts = new Int32Array(this.starts.length * 2);
    starts.set(this.starts);
    this.starts = starts;
  }

  reset(): void {
    this.count = 0;
    this.tokens = 0;
    if (this.values.length > STORE_KEPT) {
      this.values = new Float64Array(STORE_KEPT);
      this.starts = new Int32Array(STORE_KEPT);
    }
  }
}

/** Numbers the store keeps room for between bodies (48 KiB). */
const STORE_KEPT = 4096;
const store = new NumberStore();

/** Thrown inside the reader to give up; never escapes parseInferJson. */
const GIVE_UP = Symbol('give up');

class Reader {
  pos = 0;
  readonly #bytes: Buffer;
  readonly #end: number;
  /** Numbers outside `data` that are integers past 2^53 are bigints, exact (parseJsonExact). */
  readonly #exactIntegers: boolean;

  constructor(bytes: Buffer, exactIntegers = false) {
    this.#bytes = bytes;
    this.#end = bytes.length;
    this.#exactIntegers = exactIntegers;
  }

  whitespace(): number {
    const bytes = this.#bytes;
    let pos = this.pos;
    let c = bytes[pos];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = bytes[++pos];
    this.pos = pos;
    return pos < this.#end ? c! : -1;
  }

  value(context: Context, depth: number): unknown {
    if (depth > MAX_DEPTH) throw GIVE_UP;
    const c = this.whitespace();
    switch (c) {
      case 0x7b: // {
        return this.object(context, depth);
      case 0x5b: // [
        return this.array(context, depth);
      case 0x22: // "
        return this.string();
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.plainNumber();
        throw GIVE_UP;
    }
  }

  literal<T>(text: string, value: T): T {
    const bytes = this.#bytes;
    for (let i = 0; i < text.length; i += 1) if (bytes[this.pos + i] !== text.charCodeAt(i)) throw GIVE_UP;
    this.pos += text.length;
    return value;
  }

  object(context: Context, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.pos += 1;
    if (this.whitespace() === 0x7d) {
      this.pos += 1;
      return out;
    }
    for (;;) {
      if (this.whitespace() !== 0x22) throw GIVE_UP;
      const key = this.string();
      // JSON.parse makes an own property of it; assignment would set the prototype.
      if (key === '__proto__') throw GIVE_UP;
      if (this.whitespace() !== 0x3a) throw GIVE_UP;
      this.pos += 1;
      if (context === Context.Input && key === 'data' && this.whitespace() === 0x5b) out[key] = this.numbers(depth + 1);
      else if (context === Context.Body && key === 'inputs') out[key] = this.value(Context.Inputs, depth + 1);
      else out[key] = this.value(Context.Plain, depth + 1);
      const next = this.whitespace();
      this.pos += 1;
      if (next === 0x2c) continue;
      if (next === 0x7d) return out;
      throw GIVE_UP;
    }
  }

  array(context: Context, depth: number): unknown[] {
    const out: unknown[] = [];
    const element = context === Context.Inputs ? Context.Input : Context.Plain;
    this.pos += 1;
    if (this.whitespace() === 0x5d) {
      this.pos += 1;
      return out;
    }
    for (;;) {
      out.push(this.value(element, depth + 1));
      const next = this.whitespace();
      this.pos += 1;
      if (next === 0x2c) continue;
      if (next === 0x5d) return out;
      throw GIVE_UP;
    }
  }

  /**
   * `data` at `[`: when it is numbers and arrays of them, all of them into the store;
   * otherwise (strings, booleans, a number where an array was, ...) read as a plain value.
   */
  numbers(depth: number): JsonNumbers | unknown[] {
    const start = this.pos;
    const first = store.count;
    const tokens = store.tokens;
    if (this.numberArray(depth)) {
      const count = store.count - first;
      const values = store.values.slice(first, first + count);
      return new JsonNumbers(this.#bytes, count, values, store.starts.slice(first, first + count), store.tokens !== tokens);
    }
    this.pos = start;
    store.count = first;
    store.tokens = tokens;
    return this.array(Context.Plain, depth);
  }

  /** At `[`: false, with the position anywhere, on anything that is not a number or an array. */
  numberArray(depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    const bytes = this.#bytes;
    this.pos += 1;
    let c = this.whitespace();
    if (c === 0x5d) {
      this.pos += 1;
      return true;
    }
    for (;;) {
      if (c === 0x5b) {
        if (!this.numberArray(depth + 1)) return false;
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        this.storedNumber(true);
        if (bytes[this.pos] === 0x2d) this.storedToken(true);
      } else if (c === 0x4e || c === 0x49) {
        this.storedToken(false);
      } else return false;
      c = bytes[this.pos]!;
      if (c !== 0x2c && c !== 0x5d) c = this.whitespace();
      this.pos += 1;
      if (c === 0x5d) return true;
      if (c !== 0x2c) return false;
      c = bytes[this.pos]!;
      if (c !== 0x2d && (c < 0x30 || c > 0x39) && c !== 0x5b) c = this.whitespace();
    }
  }

  /** A number outside `data`: JSON.parse's value, from its text once the grammar is checked (see #exactIntegers). */
  plainNumber(): number | bigint {
    const start = this.pos;
    this.storedNumber(false);
    store.count -= 1;
    const text = this.#bytes.toString('latin1', start, this.pos);
    const value = Number(text);
    if (!this.#exactIntegers || Number.isSafeInteger(value) || !Number.isFinite(value)) return value;
    return exactInteger(text) ?? value;
  }

  /**
   * A number in `data`, into the store, its grammar (JSON's: no leading zeros, no bare dot,
   * digits after `e`) checked; with `run`, also each number that follows it after a bare comma,
   * stopping at anything else (whitespace, `]`) with the position there. Its value is exact when
   * at most 15 significant digits are not zero and the power of ten is at most 22 either way (one
   * correctly rounded operation on exact operands: what JSON.parse gives), approximate when only
   * digits past 15 were cut, else (NaN) left to its text.
   *
   * One loop over a whole run, fraction digits gathered up to 9 at a time in a small integer: a
   * call and a double multiply-add per digit made this the largest cost of a JSON request.
   */
  storedNumber(run: boolean): void {
    const bytes = this.#bytes;
    let pos = this.pos;
    let { values, starts, count } = store;
    for (;;) {
      const start = pos;
      let c = bytes[pos]!;
      const negative = c === 0x2d;
      if (negative) c = bytes[++pos]!;
      let mantissa = 0;
      let digits = 0;
      let exponent = 0;
      let approximate = false;
      if (c === 0x30) {
        c = bytes[++pos]!;
      } else if (c >= 0x31 && c <= 0x39) {
        do {
          if (digits < MAX_DIGITS) {
            mantissa = mantissa * 10 + (c - 0x30);
            digits += 1;
          } else {
            exponent += 1;
            if (c !== 0x30) approximate = true;
          }
          c = bytes[++pos]!;
        } while (c >= 0x30 && c <= 0x39);
      } else if (run && negative) {
        // Perhaps -Infinity: the run stops at its `-`, for numberArray to read.
        pos = start;
        break;
      } else throw GIVE_UP;
      if (c === 0x2e) {
        c = bytes[++pos]!;
        if (!(c >= 0x30 && c <= 0x39)) throw GIVE_UP;
        if (mantissa === 0) {
          // Leading zeros of a fraction are not significant digits.
          while (c === 0x30) {
            exponent -= 1;
            c = bytes[++pos]!;
          }
        }
        // At most two chunks: 15 digits.
        while (digits < MAX_DIGITS && c >= 0x30 && c <= 0x39) {
          const room = Math.min(MAX_DIGITS - digits, 9);
          let chunk = 0;
          let taken = 0;
          do {
            chunk = chunk * 10 + (c - 0x30);
            taken += 1;
            c = bytes[++pos]!;
          } while (taken < room && c >= 0x30 && c <= 0x39);
          mantissa = mantissa * POWERS_OF_TEN[taken]! + chunk;
          digits += taken;
          exponent -= taken;
        }
        while (c >= 0x30 && c <= 0x39) {
          if (c !== 0x30) approximate = true;
          c = bytes[++pos]!;
        }
      }
      if (c === 0x65 || c === 0x45) {
        c = bytes[++pos]!;
        let sign = 1;
        if (c === 0x2b || c === 0x2d) {
          if (c === 0x2d) sign = -1;
          c = bytes[++pos]!;
        }
        if (!(c >= 0x30 && c <= 0x39)) throw GIVE_UP;
        let written = 0;
        do {
          // Past this the value is 0 or Infinity (read from its text); stop counting.
          if (written < 100_000) written = written * 10 + (c - 0x30);
          c = bytes[++pos]!;
        } while (c >= 0x30 && c <= 0x39);
        exponent += sign * written;
      }
      let value = mantissa;
      if (mantissa === 0) approximate = false;
      else if (exponent < 0 && exponent >= -22) value = mantissa / POWERS_OF_TEN[-exponent]!;
      else if (exponent > 0 && exponent <= 22) value = mantissa * POWERS_OF_TEN[exponent]!;
      else if (exponent !== 0) value = Number.NaN;
      if (count === values.length) {
        store.grow();
        ({ values, starts } = store);
      }
      values[count] = negative ? -value : value;
      starts[count] = approximate ? -1 - start : start;
      count += 1;
      if (!run || c !== 0x2c) break;
      c = bytes[pos + 1]!;
      if (c !== 0x2d && (c < 0x30 || c > 0x39)) break;
      pos += 1;
    }
    this.pos = pos;
    store.count = count;
  }

  /** In `data`, at N or I (or, `negative`, at the - before I): NaN, Infinity or -Infinity, into the store as a number. */
  storedToken(negative: boolean): void {
    const text = this.#bytes[this.pos + (negative ? 1 : 0)] === 0x4e ? 'NaN' : 'Infinity';
    const start = this.pos;
    if (negative) {
      if (text === 'NaN') throw GIVE_UP;
      this.pos += 1;
    }
    this.literal(text, 0);
    if (store.count === store.values.length) store.grow();
    store.values[store.count] = text === 'NaN' ? Number.NaN : negative ? -Infinity : Infinity;
    store.starts[store.count] = start;
    store.count += 1;
    store.tokens += 1;
  }

  /** A string (at its `"`), as JSON.parse decodes it. */
  string(): string {
    const bytes = this.#bytes;
    const start = this.pos + 1;
    let pos = start;
    let escaped = false;
    let ascii = true;
    for (;;) {
      if (pos >= this.#end) throw GIVE_UP;
      const c = bytes[pos]!;
      if (c === 0x22) break;
      if (c < 0x20) throw GIVE_UP;
      if (c === 0x5c) {
        escaped = true;
        pos += 2;
        continue;
      }
      if (c >= 0x80) ascii = false;
      pos += 1;
    }
    this.pos = pos + 1;
    if (!escaped) return bytes.toString(ascii ? 'latin1' : 'utf8', start, pos);
    try {
      return JSON.parse(bytes.toString('utf8', start - 1, pos + 1)) as string;
    } catch {
      throw GIVE_UP;
    }
  }

  atEnd(): boolean {
    return this.whitespace() === -1;
  }
}

/**
 * Any JSON text as JSON.parse reads it, but for integers past 2^53, which are exact bigints
 * (for KServe V1 bodies to INT64 and UINT64 inputs); undefined when JSON.parse must read it instead.
 */
export function parseJsonExact(bytes: Buffer): unknown {
  const reader = new Reader(bytes, true);
  store.reset();
  try {
    const value = reader.value(Context.Plain, 0);
    return reader.atEnd() ? value : undefined;
  } catch {
    // GIVE_UP, or anything else (out of memory), which is not the body's fault: JSON.parse decides.
    return undefined;
  } finally {
    store.reset();
  }
}

/**
 * The body as JSON.parse reads it, but for each `inputs[i].data` that is (nested) arrays of
 * numbers, which is a JsonNumbers; undefined when JSON.parse must read it instead.
 */
export function parseInferJson(bytes: Buffer): unknown {
  const reader = new Reader(bytes);
  store.reset();
  try {
    const c = reader.whitespace();
    const value = reader.value(c === 0x7b ? Context.Body : Context.Plain, 0);
    return reader.atEnd() ? value : undefined;
  } catch (error) {
    if (error === GIVE_UP) return undefined;
    // Anything else (out of memory) is not the body's fault: JSON.parse decides.
    return undefined;
  } finally {
    store.reset();
  }
}
