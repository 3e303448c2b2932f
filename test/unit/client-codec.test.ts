import { describe, expect, it } from 'vitest';
import { decodeInferResponse, encodeInferRequest } from '../../client/infer-codec.js';
import { parseRetryAfter } from '../../client/errors.js';
import { retryDelay } from '../../client/retry-policy.js';
import { readServerSentEvents } from '../../client/server-sent-events.js';
import { verifyCallbackSignature } from '../../client/callback-signature.js';
import { splitBinaryBody } from '../../gateway/protocol/binary-body.js';
import { encodeInferResponse } from '../../gateway/protocol/encode-infer-response.js';
import { parseInferRequest } from '../../gateway/protocol/parse-infer-request.js';
import { signCallback } from '../../gateway/tasks/callback-signature.js';
import { encodeBytesElements } from '../../workers/protocol/tensor.js';

const inputs = [
  { name: 'a', shape: [2], data: new Float32Array([1.5, -2]) },
  { name: 'b', shape: [1, 2], data: new BigInt64Array([-3n, 4n]) },
  { name: 'c', shape: [2], data: ['x', 'yz'] },
  { name: 'd', shape: [2], datatype: 'BOOL' as const, data: new Uint8Array([0, 1]) },
  { name: 'e', shape: [1], datatype: 'FP16' as const, data: new Uint16Array([0x3c00]) },
];

describe('client infer codec against the server parser and encoder', () => {
  for (const binary of [true, false]) {
    it(`the server parses the client's ${binary ? 'binary' : 'JSON'} request into the same tensors`, () => {
      const { body, headers } = encodeInferRequest(inputs, { binary, id: 'r1', outputs: ['y'] });
      const bytes = Buffer.from(body);
      const split = splitBinaryBody(bytes, headers['inference-header-content-length']);
      const parsed = parseInferRequest(split.header, split.binary);
      expect(parsed.id).toBe('r1');
      expect(parsed.outputs).toEqual([{ name: 'y', binary }]);
      expect(parsed.binaryByDefault).toBe(binary);
      expect(parsed.inputs.map((tensor) => [tensor.name, tensor.datatype, tensor.shape])).toEqual([
        ['a', 'FP32', [2]],
        ['b', 'INT64', [1, 2]],
        ['c', 'BYTES', [2]],
        ['d', 'BOOL', [2]],
        ['e', 'FP16', [1]],
      ]);
      expect(Array.from(parsed.inputs[0]!.data as Float32Array)).toEqual([1.5, -2]);
      expect(Array.from(parsed.inputs[1]!.data as BigInt64Array)).toEqual([-3n, 4n]);
      expect(Buffer.from(parsed.inputs[2]!.data as Uint8Array)).toEqual(
        Buffer.from(encodeBytesElements([Buffer.from('x'), Buffer.from('yz')])),
      );
      expect(Array.from(parsed.inputs[3]!.data as Uint8Array)).toEqual([0, 1]);
      expect(Array.from(parsed.inputs[4]!.data as Uint16Array)).toEqual([0x3c00]);
    });

    it(`the client reads the server's ${binary ? 'binary' : 'JSON'} response`, () => {
      const outputs = [
        { name: 'p', datatype: 'FP32' as const, shape: [3], data: new Float32Array([0.25, 0.5, 0.25]) },
        { name: 'q', datatype: 'UINT64' as const, shape: [1], data: new BigUint64Array([7n]) },
        { name: 's', datatype: 'BYTES' as const, shape: [1], data: encodeBytesElements([Buffer.from('ok')]) },
        { name: 'h', datatype: 'FP16' as const, shape: [1], data: new Uint16Array([0xc500]) },
      ];
      const encoded = encodeInferResponse({ model_name: 'm', model_version: '2', parameters: { request_id: 'abc' } }, outputs, [], binary);
      const decoded = decodeInferResponse(
        new Uint8Array(Buffer.from(encoded.body)),
        encoded.headerLength === undefined ? null : String(encoded.headerLength),
      );
      expect(decoded.modelVersion).toBe('2');
      expect(decoded.parameters.request_id).toBe('abc');
      expect(Array.from(decoded.outputs[0]!.data as Float32Array)).toEqual([0.25, 0.5, 0.25]);
      expect(decoded.outputs[1]!.data).toEqual(new BigUint64Array([7n]));
      expect(decoded.outputs[2]!.data).toEqual(['ok']);
      expect(Array.from(decoded.outputs[3]!.data as Uint16Array)).toEqual([0xc500]);
    });
  }

  it('binary inputs with JSON outputs (binaryOutputs: false)', () => {
    const { body, headers } = encodeInferRequest([{ name: 'img', shape: [1], data: [new Uint8Array([137, 80, 78, 71])] }], {
      binaryOutputs: false,
      outputs: ['y'],
    });
    const split = splitBinaryBody(Buffer.from(body), headers['inference-header-content-length']);
    const parsed = parseInferRequest(split.header, split.binary);
    expect(parsed.binaryByDefault).toBe(false);
    expect(parsed.outputs).toEqual([{ name: 'y', binary: false }]);
    expect(Buffer.from(parsed.inputs[0]!.data as Uint8Array)).toEqual(
      Buffer.from(encodeBytesElements([new Uint8Array([137, 80, 78, 71])])),
    );
  });

  it('refuses a header length that runs past the body', () => {
    expect(() => decodeInferResponse(new Uint8Array(4), '10')).toThrow(RangeError);
  });
});

describe('client retry policy', () => {
  it('waits at least Retry-After, at most a fifth more, and gives up past the cap or the retry count', () => {
    expect(retryDelay(1, 1000, {}, () => 0)).toBe(1000);
    expect(retryDelay(1, 1000, {}, () => 1)).toBe(1200);
    expect(retryDelay(1, 20_000, { maxDelayMs: 10_000 }, () => 0)).toBeUndefined();
    expect(retryDelay(4, 1000, { retries: 3 }, () => 0)).toBeUndefined();
    // Without Retry-After: exponential backoff with full jitter, capped.
    expect(retryDelay(3, undefined, { baseDelayMs: 100 }, () => 1)).toBe(400);
    expect(retryDelay(10, undefined, { baseDelayMs: 100, retries: 10, maxDelayMs: 5000 }, () => 1)).toBe(5000);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe('client event-stream parser', () => {
  it('splits events across chunks, keeps the last id, skips comments', async () => {
    const chunks = [
      'id: 1\nevent: task-qu',
      'eued\ndata: {"a":1}\n\n: waiting\n\n',
      'id: 2\r\nevent: task-succeeded\r\ndata: {"b":\r\ndata: 2}\r\n\r\n',
    ];
    const body = (async function* () {
      for (const chunk of chunks) yield new TextEncoder().encode(chunk);
    })();
    const events = [];
    for await (const event of readServerSentEvents(body)) events.push(event);
    expect(events).toEqual([
      { id: '1', event: 'task-queued', data: '{"a":1}' },
      { id: '2', event: 'task-succeeded', data: '{"b":\n2}' },
    ]);
  });
});

describe('client callback signature check', () => {
  it('accepts what the gateway signs and nothing else', () => {
    const now = 1_700_000_000_000;
    const timestamp = now / 1000;
    const body = '{"id":"t1","status":"succeeded"}';
    const headers = { 'X-Switchyard-Timestamp': String(timestamp), 'X-Switchyard-Signature': signCallback('s3cret', timestamp, body) };
    expect(verifyCallbackSignature('s3cret', headers, body, { now })).toBe(true);
    expect(verifyCallbackSignature('s3cret', new Headers(headers), new TextEncoder().encode(body), { now })).toBe(true);
    expect(verifyCallbackSignature('other', headers, body, { now })).toBe(false);
    expect(verifyCallbackSignature('s3cret', headers, `${body} `, { now })).toBe(false);
    expect(verifyCallbackSignature('s3cret', headers, body, { now: now + 301_000 })).toBe(false);
    expect(verifyCallbackSignature('s3cret', headers, body, { now: now + 301_000, toleranceSeconds: 600 })).toBe(true);
    expect(verifyCallbackSignature('s3cret', { ...headers, 'X-Switchyard-Signature': 'sha256=00' }, body, { now })).toBe(false);
    expect(verifyCallbackSignature('s3cret', { 'X-Switchyard-Signature': headers['X-Switchyard-Signature'] }, body, { now })).toBe(false);
  });
});
