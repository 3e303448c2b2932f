import { describe, expect, it } from 'vitest';
import { invalidJson, jsonErrorOffset } from '../../gateway/http/json-error.js';
import { parseV1Request } from '../../gateway/protocol/kserve-v1.js';
import { parseJsonObject } from '../../gateway/tasks/task-json.js';
import { seededRandom } from '../../models/build/seeded-random.js';

const parses = (bytes: Buffer): boolean => {
  try {
    JSON.parse(bytes.toString('utf8'));
    return true;
  } catch {
    return false;
  }
};

const SAMPLE = Buffer.from(
  '{"inputs":[{"name":"x\\u00e9\\n","datatype":"FP32","shape":[2],"data":[1.5e-3,-0,true,null,false,"é"]}],"a":{},"b":[],"c":{"d":[[]]}}',
);

describe('invalid_json messages', () => {
  it('finds an error exactly where JSON.parse does not parse: valid text has none, mutated text has one', () => {
    expect(jsonErrorOffset(SAMPLE)).toBeUndefined();
    const next = seededRandom(11);
    const pieces = [...'{}[]",:0123456789.-+eE \\\n tfnu', 'true', 'null', '\\u12', '\u00e9', '\ufeff', '\u0000'];
    for (let trial = 0; trial < 5000; trial += 1) {
      const bytes = Buffer.from(SAMPLE);
      const at = Math.floor(next() * bytes.length);
      const piece = Buffer.from(pieces[Math.floor(next() * pieces.length)]!);
      const mutated =
        next() < 0.3
          ? bytes.subarray(0, at) // truncated
          : Buffer.concat([bytes.subarray(0, at), piece, bytes.subarray(at + (next() < 0.5 ? 1 : 0))]);
      const offset = jsonErrorOffset(mutated);
      expect(offset === undefined, mutated.toString()).toBe(parses(mutated));
      if (offset !== undefined) expect(offset).toBeLessThanOrEqual(mutated.length);
    }
  });

  it('says where, never what: no piece of the body is echoed', () => {
    expect(invalidJson('the body', Buffer.from('{"a": tru}')).message).toBe('the body is not valid JSON: unexpected byte at offset 9');
    expect(invalidJson('the body', Buffer.from('{"a": [1, 2')).message).toBe(
      'the body is not valid JSON: it ends (at byte 11) before the JSON does',
    );
    expect(invalidJson('the body', Buffer.from('\ufeff{"secret": 1}')).message).toBe(
      'the body is not valid JSON: unexpected byte at offset 0 (a byte-order mark; send UTF-8 without one)',
    );
    // UTF-16: NUL bytes between the characters.
    expect(invalidJson('the body', Buffer.from('{"secret": 1}', 'utf16le')).message).toBe(
      'the body is not valid JSON: unexpected byte at offset 1',
    );
    expect(() => parseJsonObject('{"callback_url": "secret-token", x}', 'the "options" field')).toThrow(
      'the "options" field is not valid JSON: unexpected byte at offset 33',
    );
    const model = { name: 'm', config: { max_batch_size: 1, inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }] } } as never;
    let message = '';
    try {
      parseV1Request(Buffer.from('{"instances": [[secret]]}'), model);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('the body is not valid JSON: unexpected byte at offset 16');
  });
});
