import { postBody } from '../helpers/post-body.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { buildIdentityModel } from '../helpers/identity-model.js';
import { TestRepository } from '../helpers/repository.js';
import { wavFile } from '../helpers/wav.js';
import { freePort } from '../helpers/redis.js';
import { connect as connectHttp2 } from 'node:http2';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Large bodies do not stall the gateway: a long WAV to the voice-activity pipeline is
 * refused before it is decoded, and a large JSON body is parsed off the event loop, so
 * liveness answers while it is parsed.
 */
const repository = new TestRepository()
  .copy('silero-vad')
  .copyPipeline('voice-activity')
  .add(
    'echo',
    {
      platform: 'onnx',
      versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
      max_batch_size: 4,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
      outputs: [{ name: 'out_x', datatype: 'FP32', shape: [-1] }],
      warmup: { enabled: false },
      price: { usd_per_compute_second: 0 },
    },
    { '1/model.onnx': buildIdentityModel([{ name: 'x', datatype: 'FP32', dims: ['batch', 'n'] }]) },
  )
  .add(
    'bytes-echo',
    {
      platform: 'onnx',
      versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
      max_batch_size: 4,
      inputs: [{ name: 'x', datatype: 'BYTES', shape: [-1] }],
      outputs: [{ name: 'out_x', datatype: 'BYTES', shape: [-1] }],
      warmup: { enabled: false },
      price: { usd_per_compute_second: 0 },
    },
    { '1/model.onnx': buildIdentityModel([{ name: 'x', datatype: 'BYTES', dims: ['batch', 'n'] }]) },
  );
let server: RunningServer;

beforeAll(async () => {
  server = await startTestGateway(repository.dir, { GRPC_PORT: String(await freePort()) });
}, 60_000);
afterAll(async () => {
  await server.close();
  repository.remove();
});

describe('large bodies', () => {
  it('refuses a 16 MiB WAV at 1 kHz to voice-activity before decoding it (413 audio_too_long)', async () => {
    // 8.4 million samples at 1 kHz: 2.3 hours, 537 MB once resampled to 16 kHz.
    const wav = wavFile([new Float32Array(8 * 1024 * 1024)], 1000);
    const reply = await post(`${server.url}/v1/tasks/voice-activity`, wav, { 'content-type': 'audio/wav' });
    expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 413, code: 'audio_too_long' });
    expect(reply.json.error).toMatch(/at most 600 s/);
    expect((await get(`${server.url}/v2/health/live`)).status).toBe(200);
  });

  it('reads a large JSON task body (base64 media) on a thread, with the same errors', async () => {
    // 2 MiB that is not a WAV: the body is read on the thread, then the pipeline's decoder refuses it.
    const notWav = Buffer.alloc(2 * 1024 * 1024, 1).toString('base64');
    const reply = await post(`${server.url}/v1/tasks/voice-activity`, { inputs: { audio: notWav } });
    expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 400, code: 'invalid_media' });
    const numeric = await post(`${server.url}/v1/tasks/voice-activity`, { inputs: { audio: 12 }, padding: 'x'.repeat(2 * 1024 * 1024) });
    expect({ status: numeric.status, code: numeric.json.code }).toEqual({ status: 400, code: 'invalid_request' });
    const broken = await post(`${server.url}/v1/tasks/voice-activity`, `{"inputs": {"audio": "${notWav}"`);
    expect({ status: broken.status, code: broken.json.code }).toEqual({ status: 400, code: 'invalid_json' });
  });

  it('answers liveness while a large JSON body is parsed', async () => {
    // About 48 MiB of numbers, cut short so that parsing fails at its very end (400 invalid_json).
    const count = 6_000_000;
    const text = `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,${count}],"data":[${'0.1234567,'.repeat(count - 1)}0.1234567]}]`;
    const body = Buffer.from(text);
    const order: string[] = [];
    let uploaded!: () => void;
    const uploadDone = new Promise<void>((resolve) => (uploaded = resolve));
    const started = performance.now();
    const big = postBody(`${server.url}/v2/models/echo/infer`, body, uploaded).then((reply) => {
      order.push('big');
      return reply;
    });
    await uploadDone;
    // Time for the gateway to read the rest of the body and start parsing it.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const asked = performance.now();
    const live = await get(`${server.url}/v2/health/live`);
    order.push('live');
    const liveMs = performance.now() - asked;
    const reply = await big;
    console.log(
      `${(body.length / 1048576).toFixed(1)} MiB JSON: liveness answered in ${liveMs.toFixed(0)} ms, the body's answer after ${(performance.now() - started).toFixed(0)} ms`,
    );
    expect(live.status).toBe(200);
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.text)).toMatchObject({ code: 'invalid_json' });
    expect(order).toEqual(['live', 'big']);
  }, 60_000);

  /**
   * Millions of one-byte BYTES elements are a small body: a request of 4 million (20 MB binary,
   * 12 MB gRPC) kept the event loop 1.2-2.9 s when every element became an object of its own.
   * The bound is the gateway's own loop (this process), ten times what the walk takes here.
   */
  describe('millions of BYTES elements', () => {
    const COUNT = 4_000_000;
    const worstStallMs = async (work: () => Promise<void>): Promise<number> => {
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      await work();
      delay.disable();
      return delay.max / 1e6;
    };

    it('over HTTP (binary extension): refused at the NUL in the last element, the loop never held for long', async () => {
      const elements = Buffer.alloc(COUNT * 5);
      for (let index = 0; index < COUNT; index += 1) {
        elements[index * 5] = 1;
        elements[index * 5 + 4] = index === COUNT - 1 ? 0 : 0x61;
      }
      const header = Buffer.from(
        JSON.stringify({
          inputs: [{ name: 'x', datatype: 'BYTES', shape: [1, COUNT], parameters: { binary_data_size: elements.length } }],
        }),
      );
      let reply!: Awaited<ReturnType<typeof fetch>>;
      const stallMs = await worstStallMs(async () => {
        reply = await fetch(`${server.url}/v2/models/bytes-echo/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
          body: Buffer.concat([header, elements]),
        });
      });
      expect(reply.status).toBe(400);
      expect(await reply.json()).toMatchObject({
        code: 'datatype_mismatch',
        error: expect.stringContaining(`element ${COUNT - 1} holds a NUL`),
      });
      console.log(`${COUNT} BYTES elements over HTTP: the event loop's longest stall ${stallMs.toFixed(0)} ms`);
      expect(stallMs).toBeLessThan(1_000);
    }, 60_000);

    it('over gRPC (typed bytes_contents): the same refusal, the same bound', async () => {
      const varint = (value: number): number[] => {
        const out: number[] = [];
        for (; value >= 0x80; value = Math.floor(value / 128)) out.push((value & 0x7f) | 0x80);
        out.push(value);
        return out;
      };
      const field = (number: number, payload: Buffer): Buffer =>
        Buffer.concat([Buffer.from([(number << 3) | 2, ...varint(payload.length)]), payload]);
      const contents = Buffer.alloc(COUNT * 3);
      for (let index = 0; index < COUNT; index += 1) contents.set([0x42, 1, index === COUNT - 1 ? 0 : 0x61], index * 3);
      const input = Buffer.concat([
        field(1, Buffer.from('x')),
        field(2, Buffer.from('BYTES')),
        field(3, Buffer.from([...varint(1), ...varint(COUNT)])),
        field(5, contents),
      ]);
      const message = Buffer.concat([field(1, Buffer.from('bytes-echo')), field(5, input)]);
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(message.length, 1);
      const session = connectHttp2(`http://${server.grpcAddress}`);
      let trailers: Record<string, unknown> = {};
      const stallMs = await worstStallMs(
        () =>
          new Promise<void>((resolve, reject) => {
            const stream = session.request({
              ':method': 'POST',
              ':path': '/inference.GRPCInferenceService/ModelInfer',
              'content-type': 'application/grpc',
              te: 'trailers',
            });
            stream.on('response', (headers) => (trailers = { ...headers }));
            stream.on('trailers', (headers) => (trailers = { ...trailers, ...headers }));
            stream.on('data', () => undefined);
            stream.on('end', resolve);
            stream.on('error', reject);
            stream.end(Buffer.concat([prefix, message]));
          }),
      );
      session.close();
      expect(trailers['grpc-status']).toBe('3');
      expect(decodeURIComponent(String(trailers['grpc-message']))).toContain(`element ${COUNT - 1} holds a NUL`);
      console.log(`${COUNT} BYTES elements over gRPC: the event loop's longest stall ${stallMs.toFixed(0)} ms`);
      expect(stallMs).toBeLessThan(1_000);
    }, 60_000);
  });
});
