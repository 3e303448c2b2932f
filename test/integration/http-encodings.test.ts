import { request as httpRequest } from 'node:http';
import { deflateSync, gunzipSync, gzipSync, inflateSync, brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { startTestGateway } from '../helpers/gateway.js';
import { MlpReference, mlpBody, mlpVector } from '../helpers/mlp-reference.js';
import { TASK_KEYS, echoInput, taskFixture } from '../helpers/task-fixture.js';

/**
 * What real clients send and ask for: bodies with no Content-Type (tritonclient), gzip and
 * deflate request bodies, compressed replies, and the body types never read as JSON.
 * Raw node:http requests, so every header is exactly what the test says (fetch adds its own).
 */
interface RawReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

function send(base: string, method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${base}${path}`,
      { method, headers: { authorization: `Bearer ${TASK_KEYS.admin}`, ...headers } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const json = (reply: RawReply): Record<string, unknown> => JSON.parse(reply.body.toString('utf8')) as Record<string, unknown>;
const batchBody = (seeds: number[], parameters: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'input', datatype: 'FP32', shape: [seeds.length, 512], data: seeds.flatMap((seed) => mlpVector(seed)) }],
  parameters,
});
const INFER = '/v2/models/mlp-classifier/infer';

let fixture: ReturnType<typeof taskFixture>;
let server: RunningServer;
let small: RunningServer;
let reference: MlpReference;
const SMALL_LIMIT = 64 * 1024;

beforeAll(async () => {
  fixture = taskFixture();
  fixture.repository.copy('mlp-classifier', { warmup: { enabled: true, batch_sizes: [1] } });
  server = await startTestGateway(fixture.repository.dir, fixture.env);
  small = await startTestGateway(fixture.repository.dir, {
    ...fixture.env,
    MAX_BODY_BYTES: String(SMALL_LIMIT),
    LOAD_MODELS: 'mlp-classifier',
  });
  reference = await MlpReference.load();
});
afterAll(async () => {
  await server?.close();
  await small?.close();
  await reference?.close();
  fixture?.repository.remove();
});

async function expectReference(reply: RawReply, seeds: number[]): Promise<void> {
  expect(reply.status, reply.body.toString().slice(0, 300)).toBe(200);
  const output = (json(reply).outputs as { data: number[] }[])[0]!;
  for (const [row, seed] of seeds.entries()) expect(await reference.matches(seed, output.data.slice(row * 10, row * 10 + 10))).toBe(true);
}

describe('request bodies', () => {
  it('a body with no Content-Type is OIP JSON', async () => {
    await expectReference(await send(server.url, 'POST', INFER, {}, JSON.stringify(mlpBody(3))), [3]);
  });

  it('a body with no Content-Type and Inference-Header-Content-Length is the binary extension', async () => {
    const header = Buffer.from(
      JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512], parameters: { binary_data_size: 2048 } }] }),
    );
    const tensor = Buffer.from(Float32Array.from(mlpVector(4)).buffer);
    const reply = await send(
      server.url,
      'POST',
      INFER,
      { 'inference-header-content-length': String(header.length) },
      Buffer.concat([header, tensor]),
    );
    await expectReference(reply, [4]);
  });

  it('gzip and deflate bodies are inflated, JSON and binary alike, with or without a Content-Type', async () => {
    const body = Buffer.from(JSON.stringify(batchBody([1, 2])));
    await expectReference(await send(server.url, 'POST', INFER, { 'content-encoding': 'gzip' }, gzipSync(body)), [1, 2]);
    const deflated = await send(
      server.url,
      'POST',
      INFER,
      { 'content-encoding': 'deflate', 'content-type': 'application/json' },
      deflateSync(body),
    );
    await expectReference(deflated, [1, 2]);
    await expectReference(await send(server.url, 'POST', INFER, { 'content-encoding': 'x-gzip' }, gzipSync(body)), [1, 2]);

    // The header length counts the inflated body, as Triton reads it.
    const header = Buffer.from(
      JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512], parameters: { binary_data_size: 2048 } }] }),
    );
    const binary = Buffer.concat([header, Buffer.from(Float32Array.from(mlpVector(5)).buffer)]);
    const headers = { 'content-encoding': 'gzip', 'inference-header-content-length': String(header.length) };
    await expectReference(await send(server.url, 'POST', INFER, headers, gzipSync(binary)), [5]);
  });

  it('a body that is not what its Content-Encoding says is a 400; an unknown encoding a 415; the process stays up', async () => {
    const plain = JSON.stringify(mlpBody(1));
    for (const encoding of ['gzip', 'deflate']) {
      const reply = await send(server.url, 'POST', INFER, { 'content-encoding': encoding, 'content-type': 'application/json' }, plain);
      expect(reply.status).toBe(400);
      expect(json(reply)).toEqual({ error: `the body is not valid ${encoding} data`, code: 'invalid_request' });
    }
    const brotli = await send(server.url, 'POST', INFER, { 'content-encoding': 'br' }, plain);
    expect(brotli.status).toBe(415);
    expect(json(brotli).code).toBe('unsupported_media_type');
    // Refused before the body is read (415 type, 401 key) while the inflater still has data: no unhandled stream error.
    for (const headers of [{ 'content-type': 'text/plain' }, { authorization: 'Bearer wrong' }]) {
      const reply = await send(server.url, 'POST', INFER, { 'content-encoding': 'gzip', ...headers }, plain);
      expect([401, 415]).toContain(reply.status);
    }
    expect((await send(server.url, 'GET', '/v2/health/live', {})).status).toBe(200);
  });

  it('MAX_BODY_BYTES caps the inflated size: exactly the limit is read, one byte more and a gzip bomb are 413', async () => {
    const body = JSON.stringify(mlpBody(2));
    const padded = (size: number): Buffer => Buffer.from(body + ' '.repeat(size - Buffer.byteLength(body)));
    await expectReference(await send(small.url, 'POST', INFER, { 'content-encoding': 'gzip' }, gzipSync(padded(SMALL_LIMIT))), [2]);
    const over = await send(small.url, 'POST', INFER, { 'content-encoding': 'gzip' }, gzipSync(padded(SMALL_LIMIT + 1)));
    expect(over.status).toBe(413);
    expect(json(over).code).toBe('body_too_large');

    // 32 MiB of zeros in 32 KiB, under the limit as sent: refused once 64 KiB are inflated, not held in memory.
    const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(SMALL_LIMIT);
    for (const headers of [{ 'content-type': 'application/json' }, {}]) {
      const reply = await send(small.url, 'POST', INFER, { 'content-encoding': 'gzip', ...headers }, bomb);
      expect(reply.status).toBe(413);
      expect(json(reply)).toMatchObject({ code: 'body_too_large' });
    }
    // Plain bodies with no Content-Type are capped too.
    expect((await send(small.url, 'POST', INFER, {}, padded(SMALL_LIMIT + 1))).status).toBe(413);
    await expectReference(await send(small.url, 'POST', INFER, {}, padded(SMALL_LIMIT)), [2]);
  });

  it('text/plain and form-urlencoded bodies are never read as JSON: 415 on infer, repository and admin routes', async () => {
    const body = JSON.stringify(mlpBody(1));
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'text/plain;charset=UTF-8']) {
      for (const path of [INFER, '/v2/repository/models/mlp-classifier/unload', '/v2/repository/index', '/v2/logging']) {
        const reply = await send(server.url, 'POST', path, { 'content-type': type }, body);
        expect(reply.status, `${type} ${path}`).toBe(415);
        expect(json(reply).code).toBe('unsupported_media_type');
      }
    }
    // The unload above was refused: the model still answers.
    await expectReference(await send(server.url, 'POST', INFER, { 'content-type': 'application/json' }, body), [1]);
  });
});

describe('compressed replies', () => {
  it('a large JSON reply is compressed as Accept-Encoding asks; a small one is not', async () => {
    const body = JSON.stringify(batchBody([1, 2, 3, 4, 5, 6, 7, 8]));
    for (const [encoding, inflate] of [
      ['gzip', gunzipSync],
      ['deflate', inflateSync],
      ['br', brotliDecompressSync],
    ] as const) {
      const reply = await send(server.url, 'POST', INFER, { 'accept-encoding': encoding }, body);
      expect(reply.status).toBe(200);
      expect(reply.headers['content-encoding']).toBe(encoding);
      expect(reply.headers.vary).toContain('accept-encoding');
      const decoded = inflate(reply.body);
      expect(reply.body.length).toBeLessThan(decoded.length);
      await expectReference({ ...reply, body: decoded }, [1, 2, 3, 4, 5, 6, 7, 8]);
    }
    const plain = await send(server.url, 'POST', INFER, {}, body);
    expect(plain.headers['content-encoding']).toBeUndefined();
    const tiny = await send(server.url, 'GET', '/v2/health/ready', { 'accept-encoding': 'gzip' });
    expect(tiny.headers['content-encoding']).toBeUndefined();
    expect(json(tiny)).toEqual({ ready: true });
  });

  it('a compressed binary-extension reply keeps Inference-Header-Content-Length for the inflated body', async () => {
    const seeds = Array.from({ length: 32 }, (_, i) => i + 1);
    const reply = await send(
      server.url,
      'POST',
      INFER,
      { 'accept-encoding': 'gzip' },
      JSON.stringify(batchBody(seeds, { binary_data_output: true })),
    );
    expect(reply.status).toBe(200);
    expect(reply.headers['content-encoding']).toBe('gzip');
    const decoded = gunzipSync(reply.body);
    const headerLength = Number(reply.headers['inference-header-content-length']);
    const header = JSON.parse(decoded.subarray(0, headerLength).toString('utf8')) as {
      outputs: { parameters: { binary_data_size: number } }[];
    };
    expect(header.outputs[0]!.parameters.binary_data_size).toBe(32 * 10 * 4);
    const values = new Float32Array(decoded.buffer.slice(decoded.byteOffset + headerLength, decoded.byteOffset + decoded.length));
    expect(values.length).toBe(320);
    for (const [row, seed] of seeds.entries())
      expect(await reference.matches(seed, [...values.subarray(row * 10, row * 10 + 10)])).toBe(true);
  });

  it('the task event stream stays uncompressed server-sent events', async () => {
    const headers = { 'content-type': 'application/json', prefer: 'respond-async' };
    const accepted = await send(server.url, 'POST', '/v1/tasks/echo-json', headers, JSON.stringify(echoInput([1, 2, 3, 4])));
    expect(accepted.status).toBe(202);
    const events = await send(server.url, 'GET', `/v1/tasks/${json(accepted).id as string}/events`, {
      'accept-encoding': 'gzip, deflate, br',
    });
    expect(events.headers['content-type']).toBe('text/event-stream');
    expect(events.headers['content-encoding']).toBeUndefined();
    expect(events.body.toString('utf8')).toMatch(/^event: task-succeeded$/m);
  });
});

describe('Triton endpoints tritonclient calls', () => {
  it('GET /v2/models lists the served models like the repository index', async () => {
    const listed = json(await send(server.url, 'GET', '/v2/models', {})) as unknown as { name: string; state: string }[];
    const index = json(await send(server.url, 'POST', '/v2/repository/index', {})) as unknown as { name: string }[];
    expect(listed).toEqual(index);
    expect(listed.map((entry) => entry.name)).toEqual(expect.arrayContaining(['echo', 'mlp-classifier']));
    const outsider = json(await send(server.url, 'GET', '/v2/models', { authorization: `Bearer ${TASK_KEYS.outsider}` })) as unknown as {
      name: string;
    }[];
    expect(outsider.map((entry) => entry.name)).toEqual(['echo']);
    expect((await send(server.url, 'GET', '/v2/models', { authorization: 'Bearer nope' })).status).toBe(401);
  });

  it('load refuses config and file overrides with 501 and loads nothing', async () => {
    for (const parameters of [{ config: '{"max_batch_size":1}' }, { 'file:1/model.onnx': Buffer.from('x').toString('base64') }]) {
      const reply = await send(server.url, 'POST', '/v2/repository/models/mlp-classifier/load', {}, JSON.stringify({ parameters }));
      expect(reply.status).toBe(501);
      expect(json(reply).code).toBe('not_supported');
    }
    expect(json(await send(server.url, 'GET', '/v2/models/mlp-classifier/config', {})).max_batch_size).toBe(64);
  });

  it('shared memory: no regions, registration and shm tensors 501, unregistering a no-op; tenants need a key', async () => {
    for (const kind of ['system', 'cuda']) {
      expect(json(await send(server.url, 'GET', `/v2/${kind}sharedmemory/status`, {}))).toEqual([]);
      expect((await send(server.url, 'GET', `/v2/${kind}sharedmemory/region/r0/status`, {})).status).toBe(404);
      const region = JSON.stringify({ key: '/r0', offset: 0, byte_size: 64 });
      const register = await send(server.url, 'POST', `/v2/${kind}sharedmemory/region/r0/register`, {}, region);
      expect(register.status).toBe(501);
      expect(json(register).code).toBe('not_supported');
      expect((await send(server.url, 'POST', `/v2/${kind}sharedmemory/unregister`, {})).status).toBe(200);
      expect((await send(server.url, 'POST', `/v2/${kind}sharedmemory/region/r0/unregister`, {})).status).toBe(200);
      expect((await send(server.url, 'GET', `/v2/${kind}sharedmemory/status`, { authorization: 'Bearer nope' })).status).toBe(401);
    }
    const shm = {
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [1, 512], parameters: { shared_memory_region: 'r0', shared_memory_byte_size: 2048 } },
      ],
    };
    const reply = await send(server.url, 'POST', INFER, {}, JSON.stringify(shm));
    expect(reply.status).toBe(501);
    expect(json(reply).code).toBe('not_supported');
  });

  it('trace settings read as Triton tracing off and cannot be changed; log settings read and set the level, admins only', async () => {
    expect(json(await send(server.url, 'GET', '/v2/trace/setting', {}))).toMatchObject({ trace_level: ['OFF'] });
    expect((await send(server.url, 'POST', '/v2/trace/setting', {}, '{"trace_level":["TIMESTAMPS"]}')).status).toBe(501);
    expect((await send(server.url, 'GET', '/v2/trace/setting', { authorization: `Bearer ${TASK_KEYS.alpha}` })).status).toBe(403);

    const before = json(await send(server.url, 'GET', '/v2/logging', {}));
    expect(before).toMatchObject({ log_file: '', log_format: 'default' });
    const refused = [
      ['{"log_info":"yes"}', 'invalid_parameter'],
      ['{"log_verbose_level":-1}', 'invalid_parameter'],
      ['{"colour":true}', 'invalid_parameter'],
      ['{"log_format":"ISO8601"}', 'not_supported'],
      ['[1]', 'invalid_request'],
      ['{', 'invalid_json'],
    ];
    for (const [body, code] of refused) {
      expect(json(await send(server.url, 'POST', '/v2/logging', {}, body)).code, body).toBe(code);
    }
    expect(json(await send(server.url, 'POST', '/v2/logging', {}, '{"log_verbose_level":2}'))).toMatchObject({
      log_verbose_level: 2,
      log_info: true,
    });
    const quiet = json(await send(server.url, 'POST', '/v2/logging', {}, '{"log_verbose_level":0,"log_info":false,"log_warning":false}'));
    expect(quiet).toMatchObject({ log_verbose_level: 0, log_info: false, log_warning: false, log_error: true });
    expect(
      (await send(server.url, 'POST', '/v2/logging', { authorization: `Bearer ${TASK_KEYS.alpha}` }, '{"log_info":true}')).status,
    ).toBe(403);
    expect(json(await send(server.url, 'POST', '/v2/logging', {}, JSON.stringify(before)))).toEqual(before);
  });
});
