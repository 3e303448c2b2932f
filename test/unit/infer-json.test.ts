import { describe, expect, it } from 'vitest';
import { JsonNumbers, parseInferJson } from '../../gateway/http/infer-json.js';
import { parseInferRequest, type ParsedInferRequest } from '../../gateway/protocol/parse-infer-request.js';
import { isServingError } from '../../workers/protocol/errors.js';

/** What a parse gives, comparable with toEqual: tensors' bytes in hex (so -0, NaN bits and rounding all count), or the error. */
function outcome(text: string | Buffer, readNumbers: boolean): unknown {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  try {
    const parsed: ParsedInferRequest = parseInferRequest(bytes, Buffer.alloc(0), readNumbers);
    return {
      ...parsed,
      inputs: parsed.inputs.map((tensor) => ({
        ...tensor,
        data: Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength).toString('hex'),
        type: tensor.data.constructor.name,
      })),
    };
  } catch (error) {
    if (!isServingError(error)) throw error;
    return { code: error.code, message: error.message };
  }
}

/**
 * The fast reader must give exactly what JSON.parse gives, errors included; but for INT64 and
 * UINT64, whose values it reads from their text: JSON.parse's doubles name a value past 2^53
 * otherwise, or refuse it (the reader's answers for those are checked on their own below).
 */
function expectSame(text: string | Buffer): unknown {
  const fast = outcome(text, true);
  const reference = outcome(text, false) as { code?: string; message?: string };
  if (reference.code === 'datatype_mismatch' && /past 2\^53|datatype U?INT64$/.test(reference.message ?? '')) {
    expect((fast as { code?: string }).code ?? 'ok').toMatch(/^(ok|datatype_mismatch)$/);
    return fast;
  }
  expect(fast).toEqual(reference);
  return fast;
}

const body = (data: string, datatype = 'FP32', shape = '[2]') =>
  `{"inputs":[{"name":"x","datatype":"${datatype}","shape":${shape},"data":${data}}]}`;

/** A seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A JSON number's text in one of the spellings clients send (and some they rarely do). */
function numberText(next: () => number): string {
  const pick = Math.floor(next() * 10);
  const sign = next() < 0.4 ? '-' : '';
  switch (pick) {
    case 0:
      return String(Math.fround(next() * 2 - 1)); // a float32 as JSON.stringify writes its double
    case 1:
      return String(next() * 2 - 1); // 17 significant digits
    case 2:
      return `${sign}${Math.floor(next() * 1e6)}`;
    case 3:
      return `${sign}${(next() * 10).toFixed(Math.floor(next() * 25))}`;
    case 4:
      return `${sign}${Math.floor(next() * 9) + 1}.${Math.floor(next() * 1e9)}e${next() < 0.5 ? '-' : '+'}${Math.floor(next() * 60)}`;
    case 5:
      return `${sign}${Math.floor(next() * 9) + 1}E${Math.floor(next() * 700) - 350}`; // past both ends of a double
    case 6:
      return `${sign}0.${'0'.repeat(Math.floor(next() * 30))}${Math.floor(next() * 1e12)}`;
    case 7:
      return `${sign}${Math.floor(next() * 9) + 1}${'0'.repeat(Math.floor(next() * 30))}`; // more digits than a double keeps
    case 8:
      return String(next() * 3.4e38 * (next() < 0.5 ? 1 : 1.1)); // around float32's largest
    default:
      return `${sign}${['0', '0.0', '0e5', '1', '1.5', '123456789012345678901234567890'][Math.floor(next() * 6)]}`;
  }
}

const ws = (next: () => number): string => ['', '', '', ' ', '\n', '\t ', '\r\n  '][Math.floor(next() * 7)]!;

/** Flat or nested `data` of numbers with random whitespace; returns its text and element count. */
function numbersText(next: () => number, depth = 0): { text: string; count: number } {
  const length = Math.floor(next() * (depth === 0 ? 12 : 4));
  const parts: string[] = [];
  let count = 0;
  for (let i = 0; i < length; i += 1) {
    if (depth < 3 && next() < 0.15) {
      const inner = numbersText(next, depth + 1);
      parts.push(inner.text);
      count += inner.count;
    } else {
      parts.push(numberText(next));
      count += 1;
    }
  }
  return { text: `[${ws(next)}${parts.join(`${ws(next)},${ws(next)}`)}${ws(next)}]`, count };
}

const DATATYPES = ['FP32', 'FP32', 'FP32', 'FP64', 'FP16', 'BF16', 'INT32', 'INT64', 'UINT8', 'INT8', 'BOOL', 'BYTES'];

/** A random valid JSON request body: inputs in any key order, with extra members, options and (sometimes) a duplicate key. */
function randomBody(next: () => number): string {
  const inputs: string[] = [];
  const count = 1 + Math.floor(next() * 3);
  for (let i = 0; i < count; i += 1) {
    const data = numbersText(next);
    const shapeMatches = next() < 0.9;
    const members = [
      `"name":"in${i}${next() < 0.2 ? '\\u00e9\\n' : ''}"`,
      `"datatype":"${DATATYPES[Math.floor(next() * DATATYPES.length)]}"`,
      `"shape":[${shapeMatches ? data.count : data.count + 1}]`,
      `"data":${data.text}`,
    ];
    if (next() < 0.2) members.push(`"parameters":{"data":[1,2],"note":"x"}`);
    if (next() < 0.1) members.push(`"data":${numbersText(next).text}`); // JSON.parse keeps the last
    if (next() < 0.1) members.push(`"data":["a","b"]`);
    members.sort(() => next() - 0.5);
    inputs.push(`{${ws(next)}${members.join(`,${ws(next)}`)}${ws(next)}}`);
  }
  const top = [`"inputs":[${inputs.join(',')}]`];
  if (next() < 0.3) top.push(`"id":"r${Math.floor(next() * 100)}"`);
  if (next() < 0.3) top.push(`"parameters":{"priority":${Math.floor(next() * 3)},"explain":{"data":[1.5,[2]]},"timeout_ms":1e3}`);
  if (next() < 0.2) top.push(`"outputs":[{"name":"y","parameters":{"binary_data":false}}]`);
  top.sort(() => next() - 0.5);
  return `${ws(next)}{${top.join(`,${ws(next)}`)}}${ws(next)}`;
}

describe('the infer body reader (infer-json.ts)', () => {
  it('reads FP32 data straight into a Float32Array equal to JSON.parse then a copy', () => {
    const values = Array.from({ length: 512 }, (_, i) => Math.fround(Math.sin(i) * 3));
    const text = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 512], data: values }] });
    const read = parseInferJson(Buffer.from(text)) as { inputs: { data: unknown }[] };
    expect(read.inputs[0]!.data).toBeInstanceOf(JsonNumbers);
    expect((read.inputs[0]!.data as JsonNumbers).toFloat32()).toEqual(Float32Array.from(values));
    expectSame(text);
  });

  it('matches JSON.parse on random valid bodies (numbers in every spelling, nesting, key order, duplicates)', () => {
    let read = 0;
    for (let seed = 1; seed <= 3000; seed += 1) {
      const text = randomBody(random(seed));
      if (parseInferJson(Buffer.from(text)) !== undefined) read += 1;
      try {
        expectSame(text);
      } catch (error) {
        throw new Error(`seed ${seed}: ${text}\n${(error as Error).message}`);
      }
    }
    // Valid bodies are the reader's own, not JSON.parse's.
    expect(read).toBe(3000);
  });

  it('rounds to the float32 JSON.parse then a Float32Array would give, at and around float32 rounding midpoints', () => {
    const next = random(7);
    const bits = new Uint32Array(1);
    const float = new Float32Array(bits.buffer);
    const texts: string[] = [];
    for (let i = 0; i < 2000; i += 1) {
      bits[0] = Math.floor(next() * 0x7f000000);
      const low = float[0]!;
      bits[0] += 1;
      const midpoint = (low + float[0]!) / 2; // exact in a double
      // The midpoint itself and its neighbours written with 17 to 25 significant digits.
      texts.push(midpoint.toPrecision(17), midpoint.toPrecision(21), midpoint.toPrecision(25), String(midpoint));
      texts.push(String(midpoint * (1 + 2 ** -52)), String(midpoint * (1 - 2 ** -52)));
    }
    for (let i = 0; i < texts.length; i += 64) {
      const chunk = texts.slice(i, i + 64);
      expectSame(body(`[${chunk.join(',')}]`, 'FP32', `[${chunk.length}]`));
    }
  });

  it("reads numbers of every length exactly: integer digits, a fraction's leading zeros and digits around the 9- and 15-digit chunks", () => {
    const next = random(11);
    const digitsOf = (count: number, first = 0): string =>
      Array.from({ length: count }, (_, i) => String(i === 0 && first > 0 ? first : Math.floor(next() * 10))).join('');
    const texts: string[] = [];
    for (let integer = 0; integer <= 17; integer += 1)
      for (let zeros = 0; zeros <= 20; zeros += 4)
        for (let fraction = 0; fraction <= 24; fraction += 1) {
          const whole = integer === 0 ? '0' : digitsOf(integer, 1 + Math.floor(next() * 9));
          const text = fraction === 0 ? whole : `${whole}.${'0'.repeat(zeros)}${digitsOf(fraction)}`;
          texts.push(next() < 0.5 ? `-${text}` : text);
        }
    for (let i = 0; i < texts.length; i += 50) {
      const chunk = texts.slice(i, i + 50);
      // Runs of bare commas, and the same numbers with whitespace between them (read one by one).
      expectSame(body(`[${chunk.join(',')}]`, 'FP64', `[${chunk.length}]`));
      expectSame(body(`[${chunk.join(',')}]`, 'FP32', `[${chunk.length}]`));
      expectSame(body(`[ ${chunk.join(' , ')} ]`, 'FP64', `[${chunk.length}]`));
    }
  });

  it('gives malformed bodies the errors JSON.parse gave them', () => {
    const hostile = [
      body('[1,2,]'),
      body('[01,2]'),
      body('[1.,2]'),
      body('[.5,2]'),
      body('[+1,2]'),
      body('[1e,2]'),
      body('[1e+,2]'),
      body('[-,2]'),
      body('[--1,2]'),
      body('[0x10,2]'),
      body('[nan,2]'),
      body('[-NaN,2]'),
      body('[+Infinity,2]'),
      body('[Inf,2]'),
      body('[NaN1,2]'),
      body('[1,-Infinityx]'),
      body('[1,-]'),
      '{"inputs":[{"name":"x","datatype":"FP32","shape":[NaN],"data":[1]}]}',
      '{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1],"parameters":{"a":Infinity}}]}',
      '{"inputs":[{"name":"x","datatype":"BYTES","shape":[2],"data":["a",NaN]}]}',
      body('[1 2]'),
      body('[1,,2]'),
      body('[1,2,-]'),
      body('[1,2,]]'),
      body('[1,-0.5,2.,3]'),
      body('[0.1,2,00]'),
      body('[1,2'),
      body('[[1],2]]'),
      `${body('[1,2]')} x`,
      `${body('[1,2]')}{}`,
      '{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,2]}]',
      '{"inputs":[{"name":"x" "datatype":"FP32"}]}',
      '{"inputs":[{"name":"x\u0001","datatype":"FP32","shape":[2],"data":[1,2]}]}',
      '{"inputs":[{"name":"\\x","datatype":"FP32","shape":[2],"data":[1,2]}]}',
      '{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,2]}],}',
      "{'inputs':[]}",
      `\ufeff${body('[1,2]')}`,
      '',
      ' ',
      'null',
      '[]',
      '"inputs"',
      '{"inputs":[tru]}',
    ];
    for (const text of hostile) {
      const result = expectSame(text) as { code?: string };
      expect(result.code, text).toBeDefined();
    }
  });

  it('refuses non-finite numbers, numbers that round to infinity in the datatype, huge exponents, wrong types and bad nesting', () => {
    const cases: [string, string][] = [
      [body('[1e999,2]'), 'datatype_mismatch'],
      [body('[-1e400,2]'), 'datatype_mismatch'],
      [body('[1e99999999999999999999,2]'), 'datatype_mismatch'],
      [body('[1,"2"]'), 'datatype_mismatch'],
      [body('[1,true]'), 'datatype_mismatch'],
      [body('[1,null]'), 'datatype_mismatch'],
      [body('[1,{"a":1}]'), 'datatype_mismatch'],
      [body('[1,2,3]'), 'shape_data_mismatch'],
      [body('[[1,2],[3]]'), 'shape_data_mismatch'],
      [body('[1.5,2]', 'INT32'), 'datatype_mismatch'],
      [body('[1e10,2]', 'INT32'), 'datatype_mismatch'],
      [body('[300,2]', 'UINT8'), 'datatype_mismatch'],
      [body('[1,0]', 'BOOL'), 'datatype_mismatch'],
      [body('[1,2]', 'BYTES'), 'datatype_mismatch'],
      [body('{"a":[1,2]}'), 'invalid_request'],
      [body('5'), 'invalid_request'],
      [body(`${'['.repeat(70)}1,2${']'.repeat(70)}`), 'invalid_request'],
      [body(`${'['.repeat(40)}1,2${']'.repeat(40)}`), 'ok'],
      [body(`${'['.repeat(5000)}1${']'.repeat(5000)}`, 'FP32', '[1]'), 'invalid_request'],
      [body('[1e38,3.4e38]'), 'ok'],
      // Finite doubles that round to infinity in the datatype do not fit it.
      [body('[1e38,3.5e38]'), 'datatype_mismatch'],
      [body('[1,1e39]'), 'datatype_mismatch'],
      [body('[-1e39,1]'), 'datatype_mismatch'],
      [body('[1e308,1]'), 'datatype_mismatch'],
      [body('[[1],[-1e308]]', 'FP32', '[2,1]'), 'datatype_mismatch'],
      // float32's largest, and just below / at the midpoint to 2^128 (ties to even: infinity).
      [body('[3.4028234663852886e38,-3.4028234663852886e38]'), 'ok'],
      [body('[3.4028235677973362e38,1]'), 'ok'],
      [body('[3.4028235677973366e38,1]'), 'datatype_mismatch'],
      [body('[1,-340282356779733661637539395458142568448]'), 'datatype_mismatch'],
      [body('[1e308,1]', 'FP64'), 'ok'],
      [body('[65519,-65519]', 'FP16'), 'ok'],
      [body('[65520,1]', 'FP16'), 'datatype_mismatch'],
      [body('[1,-70000]', 'FP16'), 'datatype_mismatch'],
      [body('[3.38e38,1]', 'BF16'), 'ok'],
      [body('[1e39,1]', 'BF16'), 'datatype_mismatch'],
      [body('[-0,0e-999]'), 'ok'],
    ];
    for (const [text, code] of cases) {
      const result = expectSame(text) as { code?: string };
      expect(result.code ?? 'ok', text.slice(0, 120)).toBe(code);
    }
  });

  it('keeps the last of duplicate keys, and reads only inputs[i].data as numbers', () => {
    expectSame('{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[9],"data":[1,2]}]}');
    expectSame('{"inputs":[],"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,2]}]}');
    expectSame('{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,2],"datatype":"INT8"}]}');
    // JSON.parse makes __proto__ an own property; the reader leaves such bodies to it.
    expectSame('{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,2]}],"__proto__":{"x":1}}');
    expectSame('{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,2],"__proto__":[]}]}');
    expect((expectSame('{"__proto__":{"inputs":[]},"inputs":"no"}') as { code: string }).code).toBe('invalid_request');
    expect(parseInferJson(Buffer.from('{"a":{"__proto__":1}}'))).toBeUndefined();
    const read = parseInferJson(
      Buffer.from('{"parameters":{"explain":{"data":[1,2]}},"inputs":[{"name":"x","parameters":{"data":[3]},"data":[1]}]}'),
    ) as { parameters: { explain: { data: unknown } }; inputs: { parameters: { data: unknown }; data: unknown }[] };
    expect(read.parameters.explain.data).toEqual([1, 2]);
    expect(read.inputs[0]!.parameters.data).toEqual([3]);
    expect(read.inputs[0]!.data).toBeInstanceOf(JsonNumbers);
  });

  it('decodes strings as JSON.parse does: escapes, UTF-8, and invalid UTF-8 bytes', () => {
    for (const name of ['caf\\u00e9', 'é\\n\\t\\"\\\\\\/', '\\ud83d\\ude00', '\\udc00x', '日本語']) {
      expectSame(`{"inputs":[{"name":"${name}","datatype":"BYTES","shape":[2],"data":["${name}","b"]}]}`);
    }
    const next = random(3);
    for (let i = 0; i < 300; i += 1) {
      const raw = Buffer.from(Array.from({ length: 1 + Math.floor(next() * 6) }, () => 0x80 + Math.floor(next() * 0x80)));
      const text = Buffer.concat([Buffer.from('{"inputs":[{"name":"'), raw, Buffer.from('","datatype":"FP32","shape":[1],"data":[1]}]}')]);
      expectSame(text);
    }
  });

  it("reads the bare NaN, Infinity and -Infinity tokens tritonclient's rapidjson writes, in floating-point data only", () => {
    const bits = (text: string) => (outcome(text, true) as { inputs: { data: string }[] }).inputs[0]!.data;
    const hex = (array: ArrayBufferView) => Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('hex');
    const values = [1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -2];
    // Every spelling of a run: bare commas, whitespace, tokens first, last and nested.
    expect(bits(body('[1.5,NaN,Infinity,-Infinity,-2]', 'FP32', '[5]'))).toBe(hex(Float32Array.from(values)));
    expect(bits(body('[ 1.5 , NaN ,Infinity\n,\t-Infinity,-2 ]', 'FP32', '[5]'))).toBe(hex(Float32Array.from(values)));
    expect(bits(body('[[1.5,NaN],[Infinity,-Infinity],[-2,0]]', 'FP32', '[3,2]'))).toBe(hex(Float32Array.from([...values, 0])));
    expect(bits(body('[-Infinity,NaN]', 'FP32', '[2]'))).toBe(hex(Float32Array.from([Number.NEGATIVE_INFINITY, Number.NaN])));
    expect(bits(body('[1.5,NaN,Infinity,-Infinity,-2]', 'FP64', '[5]'))).toBe(hex(Float64Array.from(values)));
    expect(bits(body('[NaN,Infinity,-Infinity]', 'FP16', '[3]'))).toBe(hex(Uint16Array.from([0x7e00, 0x7c00, 0xfc00])));
    expect(bits(body('[NaN,Infinity,-Infinity]', 'BF16', '[3]'))).toBe(hex(Uint16Array.from([0x7fc0, 0x7f80, 0xff80])));
    // A 17-digit run with a token inside (the approximate path) still reads every number.
    const long = [0.1234567890123456, Number.NaN, -0.9876543210987654];
    expect(bits(body('[0.1234567890123456,NaN,-0.9876543210987654]', 'FP32', '[3]'))).toBe(hex(Float32Array.from(long)));

    const refused = (text: string) => outcome(text, true) as { code?: string; message?: string };
    // Not a floating-point tensor: the tokens are not JSON there.
    for (const datatype of ['INT32', 'INT64', 'UINT8', 'BOOL']) {
      expect(refused(body('[1,NaN]', datatype)).code, datatype).toBe('invalid_json');
      expect(refused(body('[-Infinity,1]', datatype)).message, datatype).toMatch(/floating-point/);
    }
    // A finite number that overflows is still refused next to a token.
    expect(refused(body('[NaN,1e39]')).code).toBe('datatype_mismatch');
    expect(refused(body('[NaN,1e999]', 'FP64')).code).toBe('datatype_mismatch');
  });
  it("reads INT64 and UINT64 data exactly over their whole range, from the numbers' text (as Triton, not through a double)", () => {
    const tensor = (text: string, readNumbers = true) => {
      const result = outcome(text, readNumbers) as { inputs?: { data: string }[]; code?: string; message?: string };
      return result.inputs ? result.inputs[0]!.data : result;
    };
    const hex = (array: ArrayBufferView) => Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('hex');
    const int64 = [9007199254740993n, 9223372036854775807n, -9223372036854775808n];
    expect(tensor(body('[9007199254740993, 9223372036854775807, -9223372036854775808]', 'INT64', '[3]'))).toBe(
      hex(BigInt64Array.from(int64)),
    );
    expect(tensor(body('[18446744073709551615,9007199254740993,0]', 'UINT64', '[3]'))).toBe(
      hex(BigUint64Array.from([18446744073709551615n, 9007199254740993n, 0n])),
    );
    // Every spelling of an integer: a fraction of zeros, exponents, -0, nesting.
    expect(tensor(body('[[1e3,5.0],[9.223372036854775807e18,-0]]', 'INT64', '[2,2]'))).toBe(
      hex(BigInt64Array.from([1000n, 5n, 9223372036854775807n, 0n])),
    );
    const refused = (text: string) => outcome(text, true) as { code?: string; message?: string };
    expect(refused(body('[9223372036854775808,1]', 'INT64'))).toEqual({
      code: 'datatype_mismatch',
      message:
        'input "x": element 0 (9223372036854775808) is not an integer in [-9223372036854775808, 9223372036854775807] for datatype INT64',
    });
    expect(refused(body('[1,-9223372036854775809]', 'INT64')).message).toMatch(/element 1 \(-9223372036854775809\) is not an integer/);
    expect(refused(body('[18446744073709551616,1]', 'UINT64')).code).toBe('datatype_mismatch');
    expect(refused(body('[1,-1]', 'UINT64')).code).toBe('datatype_mismatch');
    expect(refused(body('[9007199254740993.5,1]', 'INT64')).message).toMatch(/element 0 \(9007199254740993\.5\) is not an integer/);
    expect(refused(body('[1e40,1]', 'INT64')).message).toMatch(/element 0 \(1e40\) is not an integer/);
    expect(refused(body('[1.5,1]', 'INT64')).message).toMatch(/element 0 \(1\.5\) is not an integer/);
    // Read by JSON.parse (a body the reader leaves to it): a value past 2^53 is refused, never rounded.
    expect(tensor(body('[9007199254740993,1]', 'INT64'), false)).toMatchObject({
      code: 'datatype_mismatch',
      message: expect.stringMatching(/past 2\^53/),
    });
    expect(tensor(body('[9007199254740991,-9007199254740991]', 'INT64'), false)).toBe(
      hex(BigInt64Array.from([9007199254740991n, -9007199254740991n])),
    );
  });
});
