import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { inferQueueName } from '../../workers/queue/queue-names.js';
import type { RunningServer } from '../../gateway/server.js';
import { startWorker, type RunningWorker } from '../../workers/main.js';
import { parseWorkerConfig } from '../../workers/config.js';
import { filesInput, postBinary } from '../helpers/binary-request.js';
import { RESHAPE_CONFIG, buildReshapeModel } from '../helpers/failing-model.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { waitFor } from '../helpers/processes.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { PrivateRedis, REDIS_URL, cleanRedis, freePort, testPrefix } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A gateway and a worker in this process, sharing a repository and a key prefix. */
async function stack(repository: TestRepository, env: Record<string, string>) {
  const prefix = testPrefix();
  const shared = {
    MODEL_REPOSITORY: repository.dir,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    HEARTBEAT_MS: '200',
    LOG_LEVEL: 'silent',
    CPU_COUNT: '1',
    ...env,
  };
  const worker: RunningWorker = await startWorker(parseWorkerConfig({ ...shared, WORKER_ID: 'w' }));
  const gateway: RunningServer = await startTestGateway(repository.dir, shared);
  cleanups.push(
    () => repository.remove(),
    () => cleanRedis(prefix, shared.REDIS_URL),
    () => worker.close(),
    () => gateway.close(),
  );
  return { gateway, worker, prefix };
}

describe('distributed mode under faults', () => {
  it.each(['bullmq', 'streams'])(
    'retries runtime failures with backoff, then dead-letters the job and answers the caller (%s)',
    async (engine) => {
      const repository = new TestRepository().add('reshape', RESHAPE_CONFIG, { '1/model.onnx': buildReshapeModel() });
      const { gateway } = await stack(repository, {
        LOAD_MODELS: 'reshape',
        JOB_ATTEMPTS: '3',
        RETRY_BACKOFF_MS: '50',
        QUEUE_ENGINE: engine,
      });
      await waitFor(async () => (await get(`${gateway.url}/v2/models/reshape/ready`)).status === 200, 5_000, 'ready');

      // Three rows reshape fine; one row cannot, on every attempt.
      const good = await post(`${gateway.url}/v2/models/reshape/infer`, {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 4], data: new Array(12).fill(1) }],
      });
      expect(good.status).toBe(200);
      const sentAt = Date.now();
      const bad = await post(`${gateway.url}/v2/models/reshape/infer`, {
        id: 'doomed',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
      });
      expect(bad.status).toBe(500);
      // Three attempts, two backoffs between them: 50 ms, then 100 ms.
      expect(Date.now() - sentAt).toBeGreaterThanOrEqual(150);
      expect(bad.json).toMatchObject({ code: 'inference_failed' });

      const letters = (await get(`${gateway.url}/v2/admin/dead-letters`)).json.dead_letters as {
        id: string;
        attemptsMade: number;
        model: string;
        failedReason: string;
      }[];
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({ model: 'reshape', attemptsMade: 3 });
      expect(letters[0]!.failedReason).toMatch(/^inference_failed: /);

      // Requeued, it runs again (and, still failing, comes back after its attempts).
      const requeued = await post(`${gateway.url}/v2/admin/dead-letters/${letters[0]!.id}/requeue`, {});
      expect(requeued.status).toBe(200);
      await waitFor(
        async () => {
          const again = (await get(`${gateway.url}/v2/admin/dead-letters`)).json.dead_letters as { id: string }[];
          return again.length === 1 && again[0]!.id !== letters[0]!.id;
        },
        10_000,
        'requeued job dead-lettered again',
      );
      // Worker pools decide what they load: the repository extension is not for distributed mode.
      expect(await post(`${gateway.url}/v2/repository/models/reshape/unload`, {})).toMatchObject({
        status: 501,
        json: { code: 'not_in_this_mode' },
      });
      const missing = await post(`${gateway.url}/v2/admin/dead-letters/nope/requeue`, {});
      expect(missing).toMatchObject({ status: 404, json: { code: 'dead_letter_not_found' } });
      expect((await get(`${gateway.url}/v2/admin/dead-letters?limit=0`)).status).toBe(400);
    },
  );

  it('never retries a request past its timeout, and answers it with request_timeout', async () => {
    const repository = new TestRepository().copy('text-recognizer');
    const { gateway, prefix } = await stack(repository, { LOAD_MODELS: 'text-recognizer' });
    await waitFor(async () => (await get(`${gateway.url}/v2/models/text-recognizer/ready`)).status === 200, 10_000, 'ready');
    const line = (width: number, parameters = {}) => ({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, width], data: new Array(3 * 48 * width).fill(0.5) }],
      parameters,
    });
    const name = inferQueueName('text-recognizer', '1');
    const queue = new Queue(name, { connection: { url: REDIS_URL }, prefix: redisKeys(prefix).queuePrefix(name) });
    cleanups.push(() => queue.close());
    // Its 2 million output values go as bytes (as JSON they are refused: json_output_too_large).
    const busy = fetch(`${gateway.url}/v2/models/text-recognizer/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(line(2400, { binary_data_output: true })),
    }).then(async (reply) => (await reply.arrayBuffer(), reply.status));
    // The wide line's 1.4 MB body is parsed on a thread: send the late one once the worker is running it.
    await waitFor(async () => (await queue.getActiveCount()) === 1, 10_000, 'the wide line running');
    const late = await post(`${gateway.url}/v2/models/text-recognizer/infer`, line(64, { timeout_ms: 20 }));
    expect(late).toMatchObject({ status: 503, json: { code: 'request_timeout' } });
    expect(await busy).toBe(200);
    // The worker found the request expired and answered it so, on the first attempt, without
    // running it: both jobs complete, none fails, and the model ran only the wide line.
    await waitFor(async () => (await queue.getCompleted()).length === 2, 10_000, 'both jobs finished');
    expect(await queue.getFailed()).toHaveLength(0);
    for (const job of await queue.getCompleted()) expect(job.attemptsMade).toBeLessThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 600)); // statistics arrive by heartbeat
    const stats = (await get(`${gateway.url}/v2/models/text-recognizer/stats`)).json.model_stats as {
      inference_count: number;
      inference_stats: { fail: { count: number } };
    }[];
    expect(stats[0]!.inference_count).toBe(1);
    expect(stats[0]!.inference_stats.fail.count).toBe(1);
    expect(((await get(`${gateway.url}/v2/admin/dead-letters`)).json.dead_letters as unknown[]).length).toBe(0);
  });

  it('refuses with QUEUE_FULL above the per-model queue depth instead of queueing without bound', async () => {
    const repository = new TestRepository().copy('mlp-classifier', { dynamic_batching: { max_queue_size: 5 } });
    const { gateway, worker } = await stack(repository, { LOAD_MODELS: 'mlp-classifier', WORKER_CONCURRENCY: '1' });
    await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-classifier/ready`)).status === 200, 5_000, 'ready');
    void worker;
    const replies = await Promise.all(
      Array.from({ length: 60 }, (_, seed) => post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(seed, { timeout_ms: 10_000 }))),
    );
    const full = replies.filter((r) => r.status === 503);
    expect(full.length).toBeGreaterThan(0);
    for (const reply of full) {
      expect(reply.json).toMatchObject({ code: 'queue_full' });
      expect(reply.headers.get('retry-after')).toBe('1');
    }
    expect(replies.every((r) => r.status === 200 || r.status === 503)).toBe(true);
  });

  it('answers 503 with a JSON error while Redis is down, and recovers by itself when it is back', async () => {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    cleanups.push(() => redis.stop());
    const repository = new TestRepository().copy('mlp-classifier');
    const { gateway } = await stack(repository, { LOAD_MODELS: 'mlp-classifier', REDIS_URL: redis.url });
    await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-classifier/ready`)).status === 200, 5_000, 'ready');
    expect((await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(1))).status).toBe(200);

    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    cleanups.push(() => void process.off('unhandledRejection', onUnhandled));

    await redis.stop();
    const started = Date.now();
    const down = await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(2));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(down.status).toBe(503);
    expect(['backend_unavailable', 'model_not_ready']).toContain(down.json.code);
    await waitFor(async () => (await get(`${gateway.url}/v2/health/ready`)).status === 503, 5_000, 'not ready while Redis is down');

    await redis.start();
    await waitFor(
      async () => (await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(3))).status === 200,
      20_000,
      'serving again',
    );
    expect((await get(`${gateway.url}/v2/health/ready`)).status).toBe(200);
    expect(unhandled).toEqual([]);
  }, 60_000);
});

describe('media in distributed mode', () => {
  it('the worker decodes images; a corrupt one is a 400 for its request alone, never retried', async () => {
    const { renderTextLine } = await import('../helpers/text-images.js');
    const repository = new TestRepository().copy('text-direction');
    const { gateway } = await stack(repository, { LOAD_MODELS: 'text-direction' });
    await waitFor(async () => (await get(`${gateway.url}/v2/models/text-direction/ready`)).status === 200, 10_000, 'ready');
    const send = async (image: Uint8Array) => {
      const reply = await postBinary(`${gateway.url}/v2/models/text-direction/infer`, [filesInput('x', [image])]);
      return { status: reply.status, json: reply.json<{ code?: string; outputs?: { data: number[] }[] }>() };
    };
    // Sent together, so they travel in one job: one bad image must not fail its neighbour.
    const [good, bad] = await Promise.all([send(await renderTextLine('upright text')), send(new Uint8Array([1, 2, 3, 4]))]);
    expect(good.status).toBe(200);
    expect(good.json.outputs![0]!.data[0]).toBeGreaterThan(0.9);
    expect(bad).toMatchObject({ status: 400, json: { code: 'invalid_media' } });
    expect(((await get(`${gateway.url}/v2/admin/dead-letters`)).json.dead_letters as unknown[]).length).toBe(0);
  });
});

describe('starting without Redis', () => {
  it('a gateway whose Redis never came up still shuts down promptly', async () => {
    const repository = new TestRepository().copy('mlp-classifier');
    cleanups.push(() => repository.remove());
    const gateway = await startTestGateway(repository.dir, {
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      REDIS_PREFIX: testPrefix(),
      LOG_LEVEL: 'silent',
      LOAD_MODELS: 'mlp-classifier',
    });
    const started = Date.now();
    await gateway.close();
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a gateway starts while Redis is down, answers 503 at once, and serves once Redis is up', async () => {
    const redis = new PrivateRedis(await freePort());
    cleanups.push(() => redis.stop());
    const repository = new TestRepository().copy('mlp-classifier');
    cleanups.push(() => repository.remove());
    const env = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: testPrefix(),
      HEARTBEAT_MS: '200',
      LOG_LEVEL: 'silent',
      CPU_COUNT: '1',
      LOAD_MODELS: 'mlp-classifier',
    };
    const gateway = await startTestGateway(repository.dir, env);
    cleanups.push(() => gateway.close());
    expect((await get(`${gateway.url}/v2/health/ready`)).status).toBe(503);
    const down = await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(1));
    expect(down.status).toBe(503);
    expect(['backend_unavailable', 'model_not_ready']).toContain(down.json.code);

    // The policy layer's Redis state is unreachable too: a budgeted or idempotent request is a 503, not a 500.
    const keyed = await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(1), { 'idempotency-key': 'k1' });
    expect(keyed.status).toBe(503);
    expect(['backend_unavailable', 'model_not_ready']).toContain(keyed.json.code);

    await redis.start();
    const worker = await startWorker(parseWorkerConfig({ ...env, MODEL_REPOSITORY: repository.dir, WORKER_ID: 'late' }));
    cleanups.push(() => worker.close());
    await waitFor(
      async () => (await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(2))).status === 200,
      20_000,
      'serving once Redis is up',
    );
  }, 60_000);
});
