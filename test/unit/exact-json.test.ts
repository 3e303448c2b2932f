import { describe, expect, it } from 'vitest';
import { exactInteger, stringifyJson } from '../../gateway/http/exact-json.js';
import { encodeJsonData } from '../../gateway/protocol/json-tensor-data.js';

describe('INT64 and UINT64 in JSON, exactly (exact-json.ts)', () => {
  it("reads a number's text as the integer it is, whatever its spelling", () => {
    expect(exactInteger('9223372036854775807')).toBe(9223372036854775807n);
    expect(exactInteger('-9223372036854775808')).toBe(-9223372036854775808n);
    expect(exactInteger('18446744073709551615')).toBe(18446744073709551615n);
    expect(exactInteger('9.007199254740993e15')).toBe(9007199254740993n);
    expect(exactInteger('1500e-2')).toBe(15n);
    expect(exactInteger('5.000')).toBe(5n);
    expect(exactInteger('-0.0e7')).toBe(0n);
    expect(exactInteger('0.5')).toBeUndefined();
    expect(exactInteger('1e-1')).toBeUndefined();
    // Far past any 64-bit range: not worked out (the double says it is out of range).
    expect(exactInteger('1e400')).toBeUndefined();
    expect(exactInteger('NaN')).toBeUndefined();
  });

  it('writes INT64 and UINT64 past 2^53 as exact integer text, and the rest as JSON.stringify does', () => {
    const int64 = encodeJsonData('INT64', BigInt64Array.of(9223372036854775807n, 9007199254740993n, -9223372036854775808n, 3n));
    const uint64 = encodeJsonData('UINT64', BigUint64Array.of(18446744073709551615n, 0n));
    const text = stringifyJson({
      id: 'a"b',
      outputs: [
        { name: 'n', data: int64, shape: [4] },
        { data: uint64, skip: undefined },
      ],
    });
    expect(text).toBe(
      '{"id":"a\\"b","outputs":[{"name":"n","data":[9223372036854775807,9007199254740993,-9223372036854775808,3],"shape":[4]},{"data":[18446744073709551615,0]}]}',
    );
    // Values JSON numbers hold exactly stay numbers: JSON.stringify writes them.
    expect(encodeJsonData('INT64', BigInt64Array.of(9007199254740991n, -5n))).toEqual([9007199254740991, -5]);
    expect(stringifyJson({ a: [1.5, null, 'x', true], b: { c: [] } })).toBe(JSON.stringify({ a: [1.5, null, 'x', true], b: { c: [] } }));
  });
});
