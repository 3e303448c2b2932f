import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { encodeBytesElements } from '../../workers/protocol/tensor.js';
import { buildIdentityModel } from '../helpers/identity-model.js';
import { startTestGateway } from '../helpers/gateway.js';
import { PROJECT_MODELS, TestRepository } from '../helpers/repository.js';

/** Floats per row of the 'wide' model: its answers are large enough to be written in parts. */
const WIDE = 48 * 1024;

const repository = new TestRepository()
  .copy('mlp-classifier')
  .add(
    'strings',
    {
      platform: 'onnx',
      versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
      max_batch_size: 4,
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [2] }],
      outputs: [{ name: 'out_text', datatype: 'BYTES', shape: [2] }],
      price: { usd_per_compute_second: 0 },
    },
    { '1/model.onnx': buildIdentityModel([{ name: 'text', datatype: 'BYTES', dims: ['batch', 2] }]) },
  )
  .add(
    'mixed',
    {
      platform: 'onnx',
      versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
      max_batch_size: 4,
      inputs: [
        { name: 'text', datatype: 'BYTES', shape: [2] },
        { name: 'vec', datatype: 'FP32', shape: [3] },
      ],
      outputs: [
        { name: 'out_text', datatype: 'BYTES', shape: [2] },
        { name: 'out_vec', datatype: 'FP32', shape: [3] },
      ],
      price: { usd_per_compute_second: 0 },
    },
    {
      '1/model.onnx': buildIdentityModel([
        { name: 'text', datatype: 'BYTES', dims: ['batch', 2] },
        { name: 'vec', datatype: 'FP32', dims: ['batch', 3] },
      ]),
    },
  )
  .add(
    'wide',
    {
      platform: 'onnx',
      versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
      max_batch_size: 4,
      inputs: [{ name: 'vec', datatype: 'FP32', shape: [WIDE] }],
      outputs: [{ name: 'out_vec', datatype: 'FP32', shape: [WIDE] }],
      price: { usd_per_compute_second: 0 },
    },
    { '1/model.onnx': buildIdentityModel([{ name: 'vec', datatype: 'FP32', dims: ['batch', WIDE] }]) },
  );

let server: RunningServer;
beforeAll(async () => {
  server = await startTestGateway(repository.dir);
});
afterAll(async () => {
  await server.close();
  repository.remove();
});

/** Builds a binary-extension body: JSON header, then the tensors' bytes. */
function binaryBody(header: unknown, tensors: Uint8Array[]): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([json, ...tensors]), headerLength: json.length };
}

async function send(model: string, body: Buffer, headerLength: string, extra: Record<string, string> = {}) {
  const response = await fetch(`${server.url}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': headerLength, ...extra },
    body,
  });
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

describe('binary tensor data extension', () => {
  it('takes raw FP32 input and returns a binary output with the header length', async () => {
    const input = new Float32Array(2 * 512).map((_, i) => Math.cos(i * 0.01));
    const { body, headerLength } = binaryBody(
      {
        inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 512], parameters: { binary_data_size: input.byteLength } }],
        outputs: [{ name: 'probabilities', parameters: { binary_data: true } }],
      },
      [new Uint8Array(input.buffer)],
    );
    const reply = await send('mlp-classifier', body, String(headerLength));
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/octet-stream');
    const jsonLength = Number(reply.headers.get('inference-header-content-length'));
    const header = JSON.parse(reply.body.subarray(0, jsonLength).toString()) as {
      outputs: { name: string; shape: number[]; parameters: { binary_data_size: number } }[];
    };
    expect(header.outputs[0]).toMatchObject({ name: 'probabilities', shape: [2, 10], parameters: { binary_data_size: 80 } });
    const raw = reply.body.subarray(jsonLength);
    expect(raw.length).toBe(80);
    const got = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));

    const session = await ort.InferenceSession.create(`${PROJECT_MODELS}/mlp-classifier/1/model.onnx`);
    const expected = (await session.run({ input: new ort.Tensor('float32', input, [2, 512]) })).probabilities!.data as Float32Array;
    expect(Array.from(got)).toEqual(Array.from(expected));
    await session.release();
  });

  it('returns every output binary with binary_data_output', async () => {
    const input = new Float32Array(512).fill(0.25);
    const { body, headerLength } = binaryBody(
      {
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512], parameters: { binary_data_size: 2048 } }],
        parameters: { binary_data_output: true },
      },
      [new Uint8Array(input.buffer)],
    );
    const reply = await send('mlp-classifier', body, String(headerLength));
    expect(reply.status).toBe(200);
    expect(reply.body.length - Number(reply.headers.get('inference-header-content-length'))).toBe(40);
  });

  describe('a large binary answer (written as its parts)', () => {
    const rows = 3;
    const input = new Float32Array(rows * WIDE).map((_, i) => Math.sin(i) * 1000);
    const request = binaryBody(
      {
        inputs: [{ name: 'vec', datatype: 'FP32', shape: [rows, WIDE], parameters: { binary_data_size: input.byteLength } }],
        parameters: { binary_data_output: true },
      },
      [new Uint8Array(input.buffer)],
    );
    const expectIntact = (reply: { status: number; headers: Headers; body: Buffer }) => {
      expect(reply.status).toBe(200);
      const jsonLength = Number(reply.headers.get('inference-header-content-length'));
      const header = JSON.parse(reply.body.subarray(0, jsonLength).toString()) as { outputs: { shape: number[] }[] };
      expect(header.outputs[0]!.shape).toEqual([rows, WIDE]);
      expect(Buffer.from(reply.body.subarray(jsonLength))).toEqual(Buffer.from(input.buffer));
    };

    it('arrives whole, with a content-length that counts every byte', async () => {
      const reply = await send('wide', request.body, String(request.headerLength), { 'accept-encoding': 'identity' });
      expect(Number(reply.headers.get('content-length'))).toBe(reply.body.length);
      expect(reply.body.length).toBeGreaterThan(input.byteLength);
      expectIntact(reply);
    });

    it('arrives whole when compressed, and its header length counts the decompressed body', async () => {
      // fetch inflates gzip itself: the body checked is what the client library sees.
      const reply = await send('wide', request.body, String(request.headerLength), { 'accept-encoding': 'gzip' });
      expect(reply.headers.get('content-encoding')).toBe('gzip');
      expectIntact(reply);
    });

    it('is replayed byte for byte under the same Idempotency-Key', async () => {
      const first = await send('wide', request.body, String(request.headerLength), { 'idempotency-key': 'wide-1' });
      const again = await send('wide', request.body, String(request.headerLength), { 'idempotency-key': 'wide-1' });
      expectIntact(first);
      expectIntact(again);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    });
  });

  it('carries BYTES tensors length-prefixed, both ways', async () => {
    const elements = ['switch', 'yard 🚂'].map((text) => new TextEncoder().encode(text));
    const data = encodeBytesElements(elements);
    const { body, headerLength } = binaryBody(
      {
        inputs: [{ name: 'text', datatype: 'BYTES', shape: [1, 2], parameters: { binary_data_size: data.byteLength } }],
        outputs: [{ name: 'out_text', parameters: { binary_data: true } }],
      },
      [data],
    );
    const reply = await send('strings', body, String(headerLength));
    expect(reply.status).toBe(200);
    const jsonLength = Number(reply.headers.get('inference-header-content-length'));
    expect(Buffer.from(reply.body.subarray(jsonLength))).toEqual(Buffer.from(data));
  });

  it.each([
    ['a NUL byte', new Uint8Array([0x61, 0x62, 0x00, 0x63])],
    ['bytes that are not UTF-8', new Uint8Array([0x61, 0xff, 0xfe])],
  ])('refuses a BYTES element with %s for an ONNX string input, rather than let the runtime cut or replace it', async (_name, bad) => {
    const data = encodeBytesElements([new TextEncoder().encode('fine'), bad]);
    const { body, headerLength } = binaryBody(
      { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1, 2], parameters: { binary_data_size: data.byteLength } }] },
      [data],
    );
    const reply = await send('strings', body, String(headerLength));
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body.toString())).toMatchObject({ code: 'datatype_mismatch', error: expect.stringContaining('element 1') });
  });

  it.each([
    ['a header length past the body', (length: number) => String(length + 100000), 'invalid_binary_body'],
    ['a header length that is not a number', () => 'abc', 'invalid_binary_body'],
    ['a header length that cuts the JSON', () => '5', 'invalid_json'],
    // The body is there: the length is what is wrong, not a missing body (empty_body).
    ['a header length of 0', () => '0', 'invalid_binary_body'],
  ])('%s is 400', async (_name, headerLength, code) => {
    const { body, headerLength: real } = binaryBody(
      { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512], parameters: { binary_data_size: 2048 } }] },
      [new Uint8Array(2048)],
    );
    const reply = await send('mlp-classifier', body, headerLength(real));
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body.toString())).toMatchObject({ code });
  });

  it.each([
    ['sizes that do not match the shape', 1024, [new Uint8Array(1024)], 'shape_data_mismatch'],
    ['sizes running past the binary data', 2048, [new Uint8Array(100)], 'invalid_binary_body'],
    ['extra bytes after the last tensor', 2048, [new Uint8Array(2100)], 'invalid_binary_body'],
  ])('%s is 400', async (_name, size, tensors, code) => {
    const { body, headerLength } = binaryBody(
      { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512], parameters: { binary_data_size: size } }] },
      tensors,
    );
    const reply = await send('mlp-classifier', body, String(headerLength));
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body.toString())).toMatchObject({ code });
  });

  it('broken BYTES length prefixes are 400', async () => {
    const data = new Uint8Array([200, 0, 0, 0, 65]);
    const { body, headerLength } = binaryBody(
      { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1, 2], parameters: { binary_data_size: data.length } }] },
      [data],
    );
    const reply = await send('strings', body, String(headerLength));
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body.toString())).toMatchObject({ code: 'invalid_binary_body' });
  });

  it('reads an FP32 tensor that starts at an unaligned offset after a BYTES one', async () => {
    const text = encodeBytesElements([new TextEncoder().encode('abc'), new Uint8Array(0)]); // 11 bytes
    const vec = new Float32Array([1.5, -2, 3.25]);
    const { body, headerLength } = binaryBody(
      {
        inputs: [
          { name: 'text', datatype: 'BYTES', shape: [1, 2], parameters: { binary_data_size: text.length } },
          { name: 'vec', datatype: 'FP32', shape: [1, 3], parameters: { binary_data_size: 12 } },
        ],
      },
      [text, new Uint8Array(vec.buffer)],
    );
    const reply = await send('mixed', body, String(headerLength));
    expect(reply.status).toBe(200);
    const header = JSON.parse(reply.body.toString()) as { outputs: { name: string; data: unknown[] }[] };
    expect(header.outputs.map((o) => [o.name, o.data])).toEqual([
      ['out_text', ['abc', '']],
      ['out_vec', [1.5, -2, 3.25]],
    ]);
  });
});
