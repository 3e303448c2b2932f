import { describe, expect, it } from 'vitest';
import { encodeV1Predictions, parseV1Request } from '../../gateway/protocol/kserve-v1.js';
import { ServingError } from '../../workers/protocol/errors.js';
import { encodeBytesElements } from '../../workers/protocol/tensor.js';
import type { ModelDefinition } from '../../workers/repository/load-repository.js';

const model = (inputs: { name: string; datatype: string; shape: number[] }[], maxBatch = 8) =>
  ({ name: 'm', config: { name: 'm', max_batch_size: maxBatch, inputs, outputs: [] } }) as unknown as ModelDefinition;

describe('KServe V1 bodies', () => {
  it('reads rows into one tensor per input, batch first', () => {
    const parsed = parseV1Request(
      Buffer.from(JSON.stringify({ instances: [[[1, 2]], [[3, 4]]] })),
      model([{ name: 'x', datatype: 'FP32', shape: [1, 2] }]),
    );
    expect(parsed.inputs).toHaveLength(1);
    expect(parsed.inputs[0]!.shape).toEqual([2, 1, 2]);
    expect(Array.from(parsed.inputs[0]!.data as Float32Array)).toEqual([1, 2, 3, 4]);
  });

  it('refuses nesting 10,000 deep with a clear error, not a stack overflow', () => {
    const body = Buffer.from(`{"instances": [${'['.repeat(10_000)}1${']'.repeat(10_000)}]}`);
    let error: unknown;
    try {
      parseV1Request(body, model([{ name: 'x', datatype: 'FP32', shape: [-1] }]));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ServingError);
    expect((error as ServingError).code).toBe('invalid_request');
  });

  it('answers bytes that are not UTF-8 as {"b64"}, and a scalar per row as a value', () => {
    const bytes = {
      name: 'b',
      datatype: 'BYTES' as const,
      shape: [2],
      data: encodeBytesElements([Buffer.from('ok'), Buffer.from([0xff, 0x00])]),
    };
    const scores = { name: 's', datatype: 'FP32' as const, shape: [2], data: new Float32Array([0.5, 0.25]) };
    expect(JSON.parse(encodeV1Predictions([bytes, scores], true))).toEqual({
      predictions: [
        { b: 'ok', s: 0.5 },
        { b: { b64: Buffer.from([0xff, 0x00]).toString('base64') }, s: 0.25 },
      ],
    });
    expect(JSON.parse(encodeV1Predictions([{ ...scores, shape: [1, 2] }], false))).toEqual({ predictions: [[[0.5, 0.25]]] });
  });
  it('reads and writes INT64 and UINT64 exactly over their whole range', () => {
    const body = '{"instances": [{"i": [9223372036854775807, -9223372036854775808], "u": [18446744073709551615, 9007199254740993]}]}';
    const parsed = parseV1Request(
      Buffer.from(body),
      model([
        { name: 'i', datatype: 'INT64', shape: [2] },
        { name: 'u', datatype: 'UINT64', shape: [2] },
      ]),
    );
    expect(Array.from(parsed.inputs[0]!.data as BigInt64Array)).toEqual([9223372036854775807n, -9223372036854775808n]);
    expect(Array.from(parsed.inputs[1]!.data as BigUint64Array)).toEqual([18446744073709551615n, 9007199254740993n]);
    const out = encodeV1Predictions(
      parsed.inputs.map((tensor) => ({ ...tensor, shape: [1, 2] })),
      true,
    );
    expect(out).toBe('{"predictions":[{"i":[9223372036854775807,-9223372036854775808],"u":[18446744073709551615,9007199254740993]}]}');
    // Beside them, other inputs' numbers past 2^53 are what JSON.parse gives.
    const mixed = parseV1Request(
      Buffer.from('{"instances": [{"i": [1, 2], "f": [1e20, 12345678901234567890]}]}'),
      model([
        { name: 'i', datatype: 'INT64', shape: [2] },
        { name: 'f', datatype: 'FP64', shape: [2] },
      ]),
    );
    expect(Array.from(mixed.inputs[1]!.data as Float64Array)).toEqual([1e20, Number('12345678901234567890')]);
    expect(() =>
      parseV1Request(Buffer.from('{"instances": [[9223372036854775808]]}'), model([{ name: 'i', datatype: 'INT64', shape: [1] }])),
    ).toThrow(/element 0 \(9223372036854775808\) is not an integer/);
  });
});
