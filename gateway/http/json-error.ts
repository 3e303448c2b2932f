import { ServingError } from '../../workers/protocol/errors.js';

/**
 * invalid_json that says where the body stops being JSON, by byte offset, without echoing it:
 * V8's SyntaxError messages quote a piece of the text ("Unexpected token '\uFEFF', "\uFEFF{..." is
 * not valid JSON"), and refusals do not repeat what the caller sent.
 */

const WHITESPACE = new Set([0x20, 0x0a, 0x0d, 0x09]);
const ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
const isHex = (c: number | undefined): boolean => c !== undefined && (isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));

/** Where JSON's grammar first fails in `bytes`: an offset (the length when the text ends too soon), or undefined when it is JSON. */
export function jsonErrorOffset(bytes: Uint8Array): number | undefined {
  const end = bytes.length;
  let pos = 0;
  /** The open containers, innermost last: `]` or `}`, what closes each. */
  const open: number[] = [];
  const skipWhitespace = (): void => {
    while (pos < end && WHITESPACE.has(bytes[pos]!)) pos += 1;
  };
  /** At `"`: past the string, or false with `pos` at the fault. */
  const string = (): boolean => {
    pos += 1;
    while (pos < end) {
      const c = bytes[pos]!;
      if (c === 0x22) {
        pos += 1;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 0x5c) {
        const next = bytes[pos + 1];
        if (next === 0x75) {
          for (let i = 2; i < 6; i += 1) if (!isHex(bytes[pos + i])) return ((pos += Math.min(i, end - pos)), false);
          pos += 6;
        } else if (next !== undefined && ESCAPES.has(next)) pos += 2;
        else return ((pos += 1), false);
      } else pos += 1;
    }
    return false;
  };
  const digits = (): boolean => {
    if (!isDigit(bytes[pos])) return false;
    while (isDigit(bytes[pos])) pos += 1;
    return true;
  };
  const number = (): boolean => {
    if (bytes[pos] === 0x2d) pos += 1;
    if (bytes[pos] === 0x30) pos += 1;
    else if (!digits()) return false;
    if (bytes[pos] === 0x2e) {
      pos += 1;
      if (!digits()) return false;
    }
    if (bytes[pos] === 0x65 || bytes[pos] === 0x45) {
      pos += 1;
      if (bytes[pos] === 0x2b || bytes[pos] === 0x2d) pos += 1;
      if (!digits()) return false;
    }
    return true;
  };
  const literal = (text: string): boolean => {
    for (let i = 0; i < text.length; i += 1, pos += 1) if (bytes[pos] !== text.charCodeAt(i)) return false;
    return true;
  };
  /** After `{` or `,` in an object: past `"key" :`, or false. */
  const key = (): boolean => {
    skipWhitespace();
    if (bytes[pos] !== 0x22 || !string()) return false;
    skipWhitespace();
    if (bytes[pos] !== 0x3a) return false;
    pos += 1;
    return true;
  };

  for (;;) {
    // A value.
    skipWhitespace();
    const c = bytes[pos];
    if (c === 0x7b || c === 0x5b) {
      pos += 1;
      skipWhitespace();
      const close = c === 0x7b ? 0x7d : 0x5d;
      if (bytes[pos] === close) pos += 1;
      else {
        open.push(close);
        if (close === 0x7d && !key()) return pos;
        continue;
      }
    } else if (c === 0x22) {
      if (!string()) return pos;
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      if (!literal(c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null')) return Math.min(pos, end);
    } else if (c === 0x2d || isDigit(c)) {
      if (!number()) return pos;
    } else return pos;
    // What follows it: a comma, the end of containers, or the end of the text.
    for (;;) {
      skipWhitespace();
      const close = open[open.length - 1];
      if (close === undefined) return pos < end ? pos : undefined;
      if (bytes[pos] === close) {
        pos += 1;
        open.pop();
        continue;
      }
      if (bytes[pos] !== 0x2c) return pos;
      pos += 1;
      if (close === 0x7d && !key()) return pos;
      break;
    }
  }
}

/** 400 invalid_json for `bytes` that JSON.parse refused: `what` ("the body") and where it stops being JSON. */
export function invalidJson(what: string, bytes: Uint8Array): ServingError {
  const offset = jsonErrorOffset(bytes);
  const where =
    offset === undefined
      ? ''
      : offset >= bytes.length
        ? `: it ends (at byte ${bytes.length}) before the JSON does`
        : `: unexpected byte at offset ${offset}${offset === 0 && bytes[0] === 0xef ? ' (a byte-order mark; send UTF-8 without one)' : ''}`;
  return new ServingError('invalid_json', `${what} is not valid JSON${where}`);
}
