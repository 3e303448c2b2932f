import { afterEach, describe, expect, it } from 'vitest';
import { get, post } from '../helpers/gateway.js';
import pino from 'pino';
import { MlpReference, mlpBody } from '../helpers/mlp-reference.js';
import { launchWorker, spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, testPrefix, testRedis } from '../helpers/redis.js';
import { PROJECT_MODELS, TestRepository } from '../helpers/repository.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jobsWaiting } from '../helpers/queue-state.js';
import { RESHAPE_CONFIG } from '../helpers/failing-model.js';
import { freePort } from '../helpers/redis.js';
import { ModelState } from '../../workers/pool/model-state.js';
import { Heartbeat } from '../../workers/queue/heartbeat.js';

const spawned: Spawned[] = [];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const child of spawned.splice(0)) child.kill('SIGKILL');
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A repository holding the MLP (version 1 only) with its cold_start as given. */
function environment(coldStart: Record<string, unknown> | undefined): Record<string, string> {
  const repository = new TestRepository().copy('mlp-classifier', coldStart ? { cold_start: coldStart } : {});
  const prefix = testPrefix();
  cleanups.push(
    () => repository.remove(),
    () => cleanRedis(prefix),
  );
  return {
    ...REDIS_ENV,
    REDIS_PREFIX: prefix,
    MODEL_REPOSITORY: repository.dir,
    LOAD_MODELS: 'mlp-classifier',
    CPU_COUNT: '1',
    HEARTBEAT_MS: '300',
  };
}

function metric(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const metricsText = async (url: string): Promise<string> => (await fetch(`${url}/metrics`)).text();
const infer = (url: string, seed: number, parameters: Record<string, unknown> = {}) =>
  post(`${url}/v2/models/mlp-classifier/versions/1/infer`, mlpBody(seed, parameters));

describe('a backlog larger than the version holds', () => {
  it('a worker starting on 400 waiting requests takes them as its queue frees: every one answered, no queue_full at the worker', async () => {
    const config = JSON.parse(readFileSync(join(PROJECT_MODELS, 'mlp-classifier', 'config.json'), 'utf8')) as {
      dynamic_batching: Record<string, unknown>;
    };
    // The gateway admits by its own count (jobs, estimated across gateways), so a worker can meet
    // more than its queue holds; here the worker's copy of the config simply has the smaller queue.
    const batching = { ...config.dynamic_batching, preferred_batch_sizes: [8] };
    const gatewayRepository = new TestRepository().copy('mlp-classifier', { max_batch_size: 8, dynamic_batching: batching });
    const workerRepository = new TestRepository().copy('mlp-classifier', {
      max_batch_size: 8,
      dynamic_batching: { ...batching, max_queue_size: 16 },
    });
    const prefix = testPrefix();
    cleanups.push(
      () => gatewayRepository.remove(),
      () => workerRepository.remove(),
      () => cleanRedis(prefix),
    );
    const env = { ...REDIS_ENV, REDIS_PREFIX: prefix, LOAD_MODELS: 'mlp-classifier', CPU_COUNT: '1', HEARTBEAT_MS: '300' };
    const gateway = await spawnGateway({ ...env, MODEL_REPOSITORY: gatewayRepository.dir });
    spawned.push(gateway);
    const replies = Promise.all(Array.from({ length: 400 }, (_, seed) => infer(gateway.url, seed, { timeout_ms: 60_000 })));
    const depth = async () => metric(await metricsText(gateway.url), 'switchyard_queue_depth', 'infer.mlp-classifier.1') ?? 0;
    await waitFor(async () => (await depth()) >= 1, 5_000, 'backlog queued');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const metricsPort = await freePort();
    spawned.push(launchWorker({ ...env, MODEL_REPOSITORY: workerRepository.dir, WORKER_ID: 'backlog', METRICS_PORT: String(metricsPort) }));
    const answered = await replies;
    expect(answered.filter((reply) => reply.status !== 200).map((reply) => reply.json)).toEqual([]);
    const worker = await metricsText(`http://127.0.0.1:${metricsPort}`);
    expect(metric(worker, 'switchyard_inference_requests_total', 'outcome="success"')).toBe(400);
    expect(metric(worker, 'switchyard_inference_requests_total', 'outcome="queue_full"') ?? 0).toBe(0);
  }, 90_000);
});

describe('scale from zero: requests to a version with no live worker queue and wait for one', () => {
  it('20 requests sent with no worker are all answered once a worker starts 3 s later; the gateway stays ready', async () => {
    const env = environment(undefined);
    const gateway = await spawnGateway(env);
    spawned.push(gateway);
    // Ready to take work, though no worker runs; the model itself says it is not.
    expect((await get(`${gateway.url}/v2/health/ready`)).status).toBe(200);
    expect((await get(`${gateway.url}/v2/models/mlp-classifier/versions/1/ready`)).status).toBe(503);

    const sentAt = Date.now();
    const replies = Promise.all(Array.from({ length: 20 }, (_, seed) => infer(gateway.url, seed)));
    // The cold queue is what a KEDA trigger sees: it is counted while no worker runs.
    const depth = async () => metric(await metricsText(gateway.url), 'switchyard_queue_depth', 'infer.mlp-classifier.1') ?? 0;
    await waitFor(async () => (await depth()) >= 1, 2_500, 'cold queue counted');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, sentAt + 3_000 - Date.now())));
    expect((await get(`${gateway.url}/v2/health/ready`)).status).toBe(200);
    const worker = launchWorker({ ...env, WORKER_ID: 'woken' });
    spawned.push(worker);

    const answered = await replies;
    const reference = await MlpReference.load();
    for (const [seed, reply] of answered.entries()) {
      expect(reply.status, JSON.stringify(reply.json)).toBe(200);
      expect(await reference.matches(seed, (reply.json.outputs as { data: number[] }[])[0]!.data)).toBe(true);
    }
    await reference.close();
    const text = await metricsText(gateway.url);
    expect(metric(text, 'switchyard_cold_starts_total', 'model="mlp-classifier",version="1"')).toBe(1);
    expect(metric(text, 'switchyard_cold_start_seconds_count', 'model="mlp-classifier",version="1"')).toBe(1);
    expect(metric(text, 'switchyard_cold_start_seconds_sum', 'model="mlp-classifier",version="1"')).toBeGreaterThan(3);
    // Warm now: no new cold start.
    expect((await infer(gateway.url, 99)).status).toBe(200);
    expect(metric(await metricsText(gateway.url), 'switchyard_cold_starts_total', 'model="mlp-classifier",version="1"')).toBe(1);
  }, 90_000);

  it('with a short cold_start.max_wait_ms they are answered 503 model_not_ready after it, and never run later', async () => {
    const env = environment({ max_wait_ms: 1_500 });
    const gateway = await spawnGateway(env);
    spawned.push(gateway);
    const sentAt = Date.now();
    const replies = await Promise.all(Array.from({ length: 20 }, (_, seed) => infer(gateway.url, seed)));
    const elapsed = Date.now() - sentAt;
    expect(elapsed).toBeGreaterThanOrEqual(1_450);
    expect(elapsed).toBeLessThan(10_000);
    for (const reply of replies) {
      expect(reply.status).toBe(503);
      expect(reply.json).toMatchObject({ code: 'model_not_ready' });
      expect(reply.json.error).toMatch(/cold_start\.max_wait_ms/);
      expect(reply.headers.get('retry-after')).toBe('1');
    }
    // Their jobs left the queue: a worker that starts now finds none of them.
    const redis = testRedis();
    cleanups.push(() => redis.disconnect());
    const waiting = (): Promise<number> => jobsWaiting(redis, env.REDIS_PREFIX!, 'infer.mlp-classifier.1');
    await waitFor(async () => (await waiting()) === 0, 5_000, 'expired jobs removed');
    // The request's own, shorter timeout still wins, as request_timeout; its job leaves the queue too
    // (and the depth a scaler reads), rather than waking a pool to be discarded.
    const brief = await infer(gateway.url, 50, { timeout_ms: 300 });
    expect(brief).toMatchObject({ status: 503, json: { code: 'request_timeout' } });
    await waitFor(async () => (await waiting()) === 0, 5_000, 'timed-out job removed');

    const worker = await spawnWorker({ ...env, WORKER_ID: 'late' });
    spawned.push(worker);
    await waitFor(
      async () => (await get(`${gateway.url}/v2/models/mlp-classifier/versions/1/ready`)).status === 200,
      10_000,
      'model ready',
    );
    expect((await infer(gateway.url, 7)).status).toBe(200);
    const count = async () => {
      const stats = (await get(`${gateway.url}/v2/models/mlp-classifier/versions/1/stats`)).json.model_stats as {
        inference_count: number;
      }[];
      return stats[0]?.inference_count ?? 0;
    };
    await waitFor(async () => (await count()) >= 1, 5_000, 'statistics reach the gateway');
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // two more heartbeats
    // Neither the removed jobs nor the one past its deadline ran: one inference, the last request's.
    expect(await count()).toBe(1);
    // Every cold request gave up: the period ended unserved, so no cold-start time was observed.
    const text = await metricsText(gateway.url);
    expect(metric(text, 'switchyard_cold_starts_total', 'model="mlp-classifier",version="1"')).toBe(2);
    expect(text).toContain('# TYPE switchyard_cold_start_seconds histogram');
    expect(metric(text, 'switchyard_cold_start_seconds_count', 'model="mlp-classifier",version="1"')).toBeUndefined();
  }, 60_000);

  it('a version whose live workers all announce it FAILED is refused at once, not queued', async () => {
    // What the registry reads as failing: a live worker announcing FAILED (here through the workers'
    // own Heartbeat; the next test has a real worker whose model fails to load).
    const env = environment({ max_wait_ms: 60_000 });
    const gateway = await spawnGateway(env);
    spawned.push(gateway);
    const redis = testRedis();
    const heartbeat = new Heartbeat({
      redis,
      prefix: env.REDIS_PREFIX!,
      periodMs: 300,
      logger: pino({ level: 'silent' }),
      announce: () => ({
        id: 'failing',
        host: 'test',
        pid: 1,
        startedAt: Date.now(),
        versions: [{ model: 'mlp-classifier', version: '1', state: ModelState.FAILED }],
        statistics: [],
      }),
    });
    heartbeat.start();
    cleanups.push(async () => {
      await heartbeat.stop('failing');
      redis.disconnect();
    });
    await waitFor(
      async () => {
        const index = (await post(`${gateway.url}/v2/repository/index`, {})).json as unknown as { name: string; state: string }[];
        return index.some((entry) => entry.name === 'mlp-classifier' && entry.state === 'FAILED');
      },
      5_000,
      'FAILED announced',
    );
    const started = Date.now();
    const refused = await infer(gateway.url, 1);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ code: 'model_not_ready' });
    expect(refused.json.error).toMatch(/failed/);
    expect((await get(`${gateway.url}/v2/health/ready`)).status).toBe(200);
  }, 60_000);

  it('a real worker whose model fails to load stays up announcing it FAILED: refused at once, the other model served, /ready 503', async () => {
    const env = environment({ max_wait_ms: 60_000 });
    const repository = new TestRepository()
      .copy('mlp-classifier')
      .add('broken', { ...RESHAPE_CONFIG }, { 'model.onnx': 'not an onnx file' });
    cleanups.push(() => repository.remove());
    const metricsPort = await freePort();
    const workerEnv = {
      ...env,
      MODEL_REPOSITORY: repository.dir,
      LOAD_MODELS: 'mlp-classifier,broken',
      METRICS_PORT: String(metricsPort),
      WORKER_ID: 'half-broken',
    };
    const gateway = await spawnGateway({ ...env, MODEL_REPOSITORY: repository.dir, LOAD_MODELS: 'mlp-classifier,broken' });
    spawned.push(gateway);
    const worker = launchWorker(workerEnv);
    spawned.push(worker);
    await waitFor(async () => worker.output().includes('models that failed to load'), 30_000, 'worker consuming with a failed model');

    await waitFor(
      async () => {
        const index = (await post(`${gateway.url}/v2/repository/index`, {})).json as unknown as { name: string; state: string }[];
        return index.some((entry) => entry.name === 'broken' && entry.state === 'FAILED');
      },
      5_000,
      'FAILED announced',
    );
    const started = Date.now();
    const refused = await post(`${gateway.url}/v2/models/broken/infer`, {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ code: 'model_not_ready' });
    expect((await infer(gateway.url, 2)).status).toBe(200);
    expect(worker.process.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${metricsPort}/ready`)).status).toBe(503);
  }, 60_000);
});
