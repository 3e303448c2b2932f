import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwitchyardClient, SwitchyardError, verifyCallbackSignature, type InputTensor, type OutputTensor } from '../../client/index.js';
import type { RunningServer } from '../../gateway/server.js';
import { fromFp16Bits } from '../../workers/protocol/half-precision.js';
import { BURST_KEY, BURST_WINDOW_MS, clientFixture } from '../helpers/client-fixture.js';
import { droppingProxy } from '../helpers/dropping-proxy.js';
import { startTestGateway } from '../helpers/gateway.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_URL, cleanRedis, testPrefix } from '../helpers/redis.js';
import { ALPHA_CALLBACK_SECRET, TASK_KEYS } from '../helpers/task-fixture.js';

const fixture = clientFixture();
const prefix = testPrefix();
const spawned: Spawned[] = [];
let embedded: RunningServer;
let distributedUrl: string;

/** A receiver for task callbacks: keeps each delivery's headers and raw body. */
const deliveries: { headers: IncomingHttpHeaders; body: string }[] = [];
let receiver: Server;
let receiverUrl: string;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      deliveries.push({ headers: request.headers, body });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  embedded = await startTestGateway(fixture.repository.dir, fixture.env);
}, 60_000);

afterAll(async () => {
  for (const child of spawned) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  await embedded?.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await cleanRedis(prefix);
  fixture.repository.remove();
});

const typedInputs = (): InputTensor[] => [
  { name: 'f32', shape: [1, 3], data: new Float32Array([0.5, -1.25, 3e5]) },
  { name: 'i32', shape: [1, 3], data: new Int32Array([-7, 0, 2147483647]) },
  { name: 'i64', shape: [1, 2], data: new BigInt64Array([-(2n ** 40n), 123n]) },
  { name: 'u8', shape: [1, 4], data: new Uint8Array([0, 1, 128, 255]) },
  { name: 'flag', shape: [1, 2], datatype: 'BOOL', data: new Uint8Array([1, 0]) },
  { name: 'half', shape: [1, 2], datatype: 'FP16', data: new Uint16Array([0x3c00, 0xc500]) },
  { name: 'f64', shape: [1, 2], data: new Float64Array([Math.PI, -1e-300]) },
  { name: 'text', shape: [1, 2], data: ['héllo', ''] },
];

/** An output as OIP JSON carries it, to compare with the server's own JSON answer. */
function asJson(output: OutputTensor): unknown[] {
  if (output.datatype === 'BYTES') return output.data as string[];
  if (output.datatype === 'BOOL') return Array.from(output.data as Uint8Array, (value) => value !== 0);
  if (output.datatype === 'FP16') return Array.from(output.data as Uint16Array, fromFp16Bits);
  return Array.from(output.data as ArrayLike<number | bigint>, Number);
}

async function stats(url: string, model: string): Promise<number> {
  const response = await fetch(`${url}/v2/models/${model}/stats`, { headers: { authorization: `Bearer ${TASK_KEYS.admin}` } });
  const body = (await response.json()) as { model_stats: { inference_count: number }[] };
  return body.model_stats.reduce((total, entry) => total + entry.inference_count, 0);
}

/** The model's inference count once it stops moving (workers report theirs with their heartbeat, every second). */
async function settledStats(url: string, model: string): Promise<number> {
  let last = await stats(url, model);
  for (let tries = 0; tries < 20; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, url === embedded.url ? 200 : 1500));
    const now = await stats(url, model);
    if (now === last) return now;
    last = now;
  }
  throw new Error(`${model}'s inference count kept changing`);
}

function suite(mode: 'embedded' | 'distributed', baseUrl: () => string): void {
  const client = (apiKey: string = TASK_KEYS.alpha, url = baseUrl()): SwitchyardClient =>
    new SwitchyardClient({ baseUrl: url, apiKey, retry: { retries: 4, maxDelayMs: 5000 } });

  it(`${mode}: infer over the binary extension and over JSON gives the server's JSON answer, datatype by datatype`, async () => {
    const raw = await fetch(`${baseUrl()}/v2/models/types/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TASK_KEYS.alpha}` },
      body: JSON.stringify({
        inputs: [
          { name: 'f32', datatype: 'FP32', shape: [1, 3], data: [0.5, -1.25, 3e5] },
          { name: 'i32', datatype: 'INT32', shape: [1, 3], data: [-7, 0, 2147483647] },
          { name: 'i64', datatype: 'INT64', shape: [1, 2], data: [-(2 ** 40), 123] },
          { name: 'u8', datatype: 'UINT8', shape: [1, 4], data: [0, 1, 128, 255] },
          { name: 'flag', datatype: 'BOOL', shape: [1, 2], data: [true, false] },
          { name: 'half', datatype: 'FP16', shape: [1, 2], data: [1, -5] },
          { name: 'f64', datatype: 'FP64', shape: [1, 2], data: [Math.PI, -1e-300] },
          { name: 'text', datatype: 'BYTES', shape: [1, 2], data: ['héllo', ''] },
        ],
      }),
    });
    expect(raw.status).toBe(200);
    const expected = (await raw.json()) as { outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[] };
    expect(expected.outputs).toHaveLength(8);

    for (const binary of [true, false]) {
      const result = await client().infer('types', typedInputs(), { binary });
      for (const want of expected.outputs) {
        const got = result.outputs[want.name]!;
        expect({ name: got.name, datatype: got.datatype, shape: got.shape, data: asJson(got) }).toEqual(want);
      }
      expect(result.outputs.out_i64!.data).toBeInstanceOf(BigInt64Array);
      expect(result.outputs.out_f32!.data).toBeInstanceOf(Float32Array);
      expect(result.outputs.out_text!.raw!.map((bytes) => bytes.byteLength)).toEqual([6, 0]);
      // The serving facts, as fields.
      expect(result.modelName).toBe('types');
      expect(result.modelVersion).toBe('1');
      expect(result.route).toBe('types');
      expect(result.batchSize).toBe(1);
      expect(result.costUsd).toBeCloseTo(0.002, 9);
      expect(result.requestId).toMatch(/.+/);
      expect(result.serverMs).toBeGreaterThanOrEqual(result.queueMs);
      expect(result.replayed).toBe(false);
      expect(result.attempts).toBe(1);
    }
    // Asking for some outputs only.
    const some = await client().infer('types', typedInputs(), { outputs: ['out_text', 'out_u8'] });
    expect(Object.keys(some.outputs).sort()).toEqual(['out_text', 'out_u8']);
    // Some as their highest classes (the classification extension), binary and JSON.
    for (const binary of [true, false]) {
      const ranked = await client().infer('types', typedInputs(), {
        binary,
        outputs: ['out_text'],
        classification: { out_u8: 2, out_f64: 1 },
      });
      expect(Object.keys(ranked.outputs).sort()).toEqual(['out_f64', 'out_text', 'out_u8']);
      expect(ranked.outputs.out_u8).toMatchObject({ datatype: 'BYTES', shape: [1, 2], data: ['255:3', '128:2'] });
      expect(ranked.outputs.out_f64).toMatchObject({ datatype: 'BYTES', shape: [1, 1], data: ['3.141593:0'] });
    }
  });

  it(`${mode}: a call refused with 429 is retried after Retry-After, and runs once`, async () => {
    const burst = client(BURST_KEY);
    const before = await settledStats(baseUrl(), 'types');
    const first = await burst.infer('types', typedInputs());
    expect(first.attempts).toBe(1);
    const second = await burst.infer('types', typedInputs());
    expect(second.attempts).toBe(2);
    expect(second.replayed).toBe(false);
    // Without retries the refusal is the error, with its code and the wait the server asked for.
    const refused = await client(BURST_KEY)
      .infer('types', typedInputs(), { retry: { retries: 0 } })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SwitchyardError);
    expect(refused).toMatchObject({ status: 429, code: 'rate_limited' });
    expect((refused as SwitchyardError).retryAfterMs).toBeGreaterThan(0);
    expect((refused as SwitchyardError).retryAfterMs).toBeLessThanOrEqual(BURST_WINDOW_MS + 1000);
    expect(await settledStats(baseUrl(), 'types')).toBe(before + 2);
  });

  it(`${mode}: an answer lost on the way is fetched again with the same Idempotency-Key, not run again`, async () => {
    const proxy = await droppingProxy(baseUrl());
    try {
      const before = await settledStats(baseUrl(), 'types');
      const result = await client(TASK_KEYS.alpha, proxy.url).infer('types', typedInputs());
      expect(proxy.dropped()).toBe(1);
      expect(result.attempts).toBeGreaterThanOrEqual(2);
      expect(result.replayed).toBe(true);
      expect(Array.from(result.outputs.out_i32!.data as Int32Array)).toEqual([-7, 0, 2147483647]);
      expect(await settledStats(baseUrl(), 'types')).toBe(before + 1);
    } finally {
      await proxy.close();
    }
    // Without a key the client cannot know whether the lost call ran, so it does not repeat it.
    const unkeyed = await droppingProxy(baseUrl());
    try {
      const before = await settledStats(baseUrl(), 'types');
      const lost = await client(TASK_KEYS.alpha, unkeyed.url)
        .infer('types', typedInputs(), { idempotencyKey: false })
        .catch((error: unknown) => error);
      expect(lost).toMatchObject({ status: 0, code: 'network_error', attempts: 1 });
      expect(await settledStats(baseUrl(), 'types')).toBe(before + 1);
    } finally {
      await unkeyed.close();
    }
  });

  it(`${mode}: errors carry the server's code, status and request id`, async () => {
    const missing = await client(TASK_KEYS.admin)
      .infer('no-such-model', typedInputs())
      .catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(SwitchyardError);
    expect(missing).toMatchObject({ status: 404, code: 'model_not_found', attempts: 1 });
    expect((missing as SwitchyardError).requestId).toMatch(/.+/);
    await expect(client().infer('mlp-classifier', typedInputs())).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    const wrongType = await client()
      .infer(
        'types',
        typedInputs().map((input) => (input.name === 'i32' ? { ...input, data: new Float32Array(3) } : input)),
      )
      .catch((error: unknown) => error);
    expect(wrongType).toMatchObject({ status: 400, code: 'datatype_mismatch' });
    const anonymous = await new SwitchyardClient({ baseUrl: baseUrl() }).infer('types', typedInputs()).catch((error: unknown) => error);
    expect(anonymous).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it(`${mode}: a timeout or an abort during the wait for a retry ends the call without another attempt`, async () => {
    const burst = (): SwitchyardClient =>
      new SwitchyardClient({ baseUrl: baseUrl(), apiKey: BURST_KEY, retry: { retries: 3, maxDelayMs: 5000 } });
    const before = await settledStats(baseUrl(), 'types');
    // Uses up the window: the calls below are refused until it ends.
    await burst().infer('types', typedInputs());
    const timedOut = await burst()
      .infer('types', typedInputs(), { timeoutMs: 300 })
      .catch((error: unknown) => error);
    expect(timedOut).toMatchObject({ status: 0, code: 'client_timeout', attempts: 1 });
    const controller = new AbortController();
    const call = burst().infer('types', typedInputs(), { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(await settledStats(baseUrl(), 'types')).toBe(before + 1);
  });

  it(`${mode}: tasks: submit (sync and async), events with resume, wait, cancel`, async () => {
    const sync = await client().tasks.submit('echo-json', { value: { datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] } });
    expect(sync.task.status).toBe('succeeded');
    expect((sync.task.result!.outputs.echoed as { data: number[] }).data).toEqual([1, 2, 3, 4]);

    const queued = await client().tasks.submit(
      'echo-json',
      { value: { datatype: 'FP32', shape: [1, 4], data: [5, 6, 7, 8] } },
      { async: true },
    );
    expect(['queued', 'running', 'succeeded']).toContain(queued.task.status);
    const events = [];
    for await (const event of client().tasks.events(queued.task.id)) events.push(event);
    expect(events[0]!.type).toBe('task-queued');
    expect(events.at(-1)!.type).toBe('task-succeeded');
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    // Resuming after an event gives only what followed it.
    const resumed = [];
    for await (const event of client().tasks.events(queued.task.id, { lastEventId: 2 })) resumed.push(event);
    expect(resumed).toEqual(events.slice(2));
    // A stream cut after the first event is reopened with Last-Event-ID: nothing lost, nothing twice.
    const cutting = await droppingProxy(baseUrl(), 'event: task-started');
    try {
      const rejoined = [];
      for await (const event of client(TASK_KEYS.alpha, cutting.url).tasks.events(queued.task.id)) rejoined.push(event);
      expect(cutting.dropped()).toBe(1);
      expect(rejoined).toEqual(events);
    } finally {
      await cutting.close();
    }
    const done = await client().tasks.wait(queued.task.id);
    expect(done.status).toBe('succeeded');
    expect((done.result!.outputs.echoed as { data: number[] }).data).toEqual([5, 6, 7, 8]);

    // A failed sync task throws with its code; an unknown task is task_not_found.
    await expect(
      client().tasks.submit('echo-json', { value: { datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] } }),
    ).rejects.toBeInstanceOf(SwitchyardError);
    await expect(client().tasks.get('no-such-task')).rejects.toMatchObject({ status: 404, code: 'task_not_found' });

    // The task has ended: nothing to cancel.
    await expect(client().tasks.cancel(queued.task.id)).rejects.toMatchObject({ status: 409, code: 'task_finished' });
    await expect(client().tasks.cancel('no-such-task')).rejects.toMatchObject({ status: 404, code: 'task_not_found' });
  });

  it(`${mode}: a real callback from the gateway passes verifyCallbackSignature; a wrong secret or body does not`, async () => {
    const before = deliveries.length;
    const value = { datatype: 'FP32', shape: [1, 4], data: [9, 9, 9, 9] };
    const { task } = await client().tasks.submit('echo-json', { value }, { async: true, callbackUrl: receiverUrl });
    await waitFor(async () => deliveries.slice(before).some((delivery) => delivery.body.includes(task.id)), 15_000, 'callback delivered');
    const delivery = deliveries.slice(before).find((candidate) => candidate.body.includes(task.id))!;
    expect(verifyCallbackSignature(ALPHA_CALLBACK_SECRET, delivery.headers, delivery.body)).toBe(true);
    expect(verifyCallbackSignature('another-secret', delivery.headers, delivery.body)).toBe(false);
    expect(verifyCallbackSignature(ALPHA_CALLBACK_SECRET, delivery.headers, delivery.body.replace('9', '8'))).toBe(false);
    // Outside the tolerance window it is refused as a replay.
    expect(verifyCallbackSignature(ALPHA_CALLBACK_SECRET, delivery.headers, delivery.body, { now: Date.now() + 600_000 })).toBe(false);
  });
}

describe('switchyard/client against an embedded gateway', () => {
  suite('embedded', () => embedded.url);

  it('embedded: aborting an open event stream closes it on the gateway too', async () => {
    const client = new SwitchyardClient({ baseUrl: embedded.url, apiKey: TASK_KEYS.alpha });
    const value = { datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] };
    // A task held for review stays unfinished, so its stream stays open.
    const { task } = await client.tasks.submit('echo-json', { value }, { async: true, review: true });
    const controller = new AbortController();
    const seen: string[] = [];
    const reading = (async (): Promise<void> => {
      for await (const event of client.tasks.events(task.id, { signal: controller.signal })) seen.push(event.type);
    })();
    await waitFor(async () => seen.includes('task-needs-review') && embedded.inFlight() >= 1, 10_000, 'stream open at needs_review');
    controller.abort();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
    await waitFor(async () => embedded.inFlight() === 0, 5000, 'stream closed on the gateway');
  });
});

describe('switchyard/client against a distributed gateway (worker process, Redis)', () => {
  beforeAll(async () => {
    const env = {
      ...fixture.env,
      REDIS_URL,
      REDIS_PREFIX: prefix,
      MODEL_REPOSITORY: fixture.repository.dir,
      CPU_COUNT: '1',
      HEARTBEAT_MS: '300',
    };
    spawned.push(await spawnWorker({ ...env, WORKER_ID: 'client-worker' }));
    const gateway = await spawnGateway(env);
    spawned.push(gateway);
    distributedUrl = gateway.url;
    const ready = async (): Promise<boolean> =>
      (await fetch(`${distributedUrl}/v2/models/types/ready`, { headers: { authorization: `Bearer ${TASK_KEYS.admin}` } })).status === 200;
    await waitFor(ready, 30_000, 'types ready');
  }, 90_000);

  suite('distributed', () => distributedUrl);

  it('distributed: a 503 (no worker came within cold_start.max_wait_ms) is retried until a worker comes up, and the call runs once', async () => {
    const lonePrefix = testPrefix();
    const env = {
      ...fixture.env,
      REDIS_URL,
      REDIS_PREFIX: lonePrefix,
      MODEL_REPOSITORY: fixture.repository.dir,
      CPU_COUNT: '1',
      HEARTBEAT_MS: '300',
    };
    try {
      const gateway = await spawnGateway(env);
      spawned.push(gateway);
      const client = new SwitchyardClient({ baseUrl: gateway.url, apiKey: TASK_KEYS.alpha, retry: { retries: 30, maxDelayMs: 3000 } });
      const refused = await client.infer('types', typedInputs(), { retry: { retries: 0 } }).catch((error: unknown) => error);
      expect(refused).toMatchObject({ status: 503, code: 'model_not_ready', retryAfterMs: 1000 });
      const call = client.infer('types', typedInputs());
      // Past the model's cold_start.max_wait_ms (1 s): the call's first attempt has been refused before any worker exists.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      spawned.push(await spawnWorker({ ...env, WORKER_ID: 'late-worker' }));
      const result = await call;
      expect(result.attempts).toBeGreaterThanOrEqual(2);
      expect(Array.from(result.outputs.out_u8!.data as Uint8Array)).toEqual([0, 1, 128, 255]);
      // The worker's count reaches the gateway with its heartbeat: once there, it stays at one.
      await waitFor(async () => (await stats(gateway.url, 'types')) >= 1, 10_000, 'the worker reports its count');
      expect(await settledStats(gateway.url, 'types')).toBe(1);
    } finally {
      await cleanRedis(lonePrefix);
    }
  }, 90_000);

  it('distributed: a call waiting on a stopped worker ends at its timeout or abort, at once', async () => {
    const worker = spawned[0]!;
    const client = new SwitchyardClient({ baseUrl: distributedUrl, apiKey: TASK_KEYS.alpha });
    const input = { x: { shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) } };
    worker.kill('SIGSTOP');
    try {
      await expect(client.infer('echo', input, { timeoutMs: 400 })).rejects.toMatchObject({ status: 0, code: 'client_timeout' });
      const controller = new AbortController();
      const call = client.infer('echo', input, { signal: controller.signal });
      setTimeout(() => controller.abort(new DOMException('caller gave up', 'AbortError')), 300);
      await expect(call).rejects.toMatchObject({ name: 'AbortError', message: 'caller gave up' });
    } finally {
      worker.kill('SIGCONT');
    }
    // The worker is back and the client still works.
    expect(Array.from((await client.infer('echo', input)).outputs.out_x!.data as Float32Array)).toEqual([1, 2, 3, 4]);
  });
});
