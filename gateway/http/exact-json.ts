/**
 * INT64 and UINT64 in JSON, exactly, as Triton (rapidjson) reads and writes them: a JSON number
 * is a double once JSON.parse has it, and doubles hold integers exactly only up to 2^53.
 */

/** The largest integer every double up to it holds exactly. */
export const SAFE_INTEGER = BigInt(Number.MAX_SAFE_INTEGER);

/** Past this many digits an integer is far out of any 64-bit range: its value is not worked out. */
const MAX_INTEGER_DIGITS = 40;
const NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * A JSON number's text as the integer it is exactly (`5.0` and `1e3` included); undefined when it
 * is not an integer, or has more than 40 digits (then its double says it is out of range).
 */
export function exactInteger(text: string): bigint | undefined {
  const match = NUMBER.exec(text);
  if (!match) return undefined;
  const [, sign, whole = '', fraction = '', exponent = '0'] = match;
  const digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (digits === '') return 0n;
  const significant = digits.replace(/0+$/, '');
  // The value is significant * 10^scale.
  const scale = Number(exponent) - fraction.length + (digits.length - significant.length);
  if (scale < 0 || significant.length + scale > MAX_INTEGER_DIGITS) return undefined;
  const value = BigInt(significant) * 10n ** BigInt(scale);
  return sign === '-' ? -value : value;
}

/** A JSON value's text, as JSON.stringify writes it, but for bigints, which are written as exact integers. */
function write(value: unknown): string | undefined {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map((item) => write(item) ?? 'null').join(',')}]`;
  if (typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON !== 'function') {
    const members: string[] = [];
    for (const [key, item] of Object.entries(value)) {
      const text = write(item);
      if (text !== undefined) members.push(`${JSON.stringify(key)}:${text}`);
    }
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * JSON.stringify for answers whose values may hold bigints (INT64 and UINT64 past 2^53, from
 * encodeJsonData): those are written as integer text, not through a double. Without any,
 * JSON.stringify itself writes it (it refuses a bigint with a TypeError, its only one here: answers hold no cycles).
 */
export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return write(value) ?? 'null';
  }
}
