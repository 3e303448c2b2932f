import { afterEach, describe, expect, it } from 'vitest';
import { startWorker } from '../../workers/main.js';
import { parseWorkerConfig } from '../../workers/config.js';
import { inferQueueName, inferQueueNames } from '../../workers/queue/queue-names.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { GROUP, entryFields } from '../../workers/queue/stream-jobs.js';
import { decodeReply, encodeJob, jobJson } from '../../workers/queue/job-codec.js';
import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { abandonable, cancelledCount, postLine, rowsRun } from '../helpers/abandon.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { MlpReference, mlpBody, mlpVector } from '../helpers/mlp-reference.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, freePort, testPrefix, testRedis } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

/**
 * QUEUE_ENGINE=streams (workers/queue/stream-worker.ts): gateways and workers as processes over
 * real Redis. Its retries and dead letters are tested beside BullMQ's in distributed-faults.test.ts.
 */
const spawned: Spawned[] = [];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const child of spawned.splice(0)) child.kill('SIGKILL');
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function environment(extra: Record<string, string> = {}, repository?: TestRepository): Record<string, string> {
  const prefix = testPrefix();
  cleanups.push(() => cleanRedis(prefix));
  if (repository) cleanups.push(() => repository.remove());
  return {
    ...REDIS_ENV,
    QUEUE_ENGINE: 'streams',
    REDIS_PREFIX: prefix,
    LOAD_MODELS: 'mlp-classifier',
    CPU_COUNT: '1',
    HEARTBEAT_MS: '300',
    ...(repository ? { MODEL_REPOSITORY: repository.dir } : {}),
    ...extra,
  };
}

function redis(): RedisClient {
  const client = testRedis();
  cleanups.push(() => client.quit());
  return client;
}

const MLP_QUEUE = inferQueueName('mlp-classifier', '1');

/** Entries still in the queue's streams, and entries some consumer holds. */
async function leftOver(client: RedisClient, prefix: string, queue = MLP_QUEUE): Promise<{ entries: number; held: number }> {
  let entries = 0;
  let held = 0;
  for (const stream of redisKeys(prefix).jobStreams(queue)) {
    entries += await client.xlen(stream);
    const summary = (await client.xpending(stream, GROUP).catch(() => [0])) as [number];
    held += Number(summary[0] ?? 0);
  }
  return { entries, held };
}

/** `total` requests from `clients` concurrent callers over the gateways in turn, and more while `during` runs. */
async function load(urls: string[], total: number, clients: number, during?: (answered: () => number) => Promise<void>) {
  let next = 0;
  let answered = 0;
  let duringRuns = during !== undefined;
  const results: { seed: number; status: number; json: Record<string, unknown> }[] = [];
  const client = async (): Promise<void> => {
    while (next < total || duringRuns) {
      const seed = next++;
      const url = urls[seed % urls.length]!;
      const reply = await post(`${url}/v2/models/mlp-classifier/infer`, mlpBody(seed)).catch((error: Error) => ({
        status: 0,
        json: { error: error.message },
      }));
      results.push({ seed, status: reply.status, json: reply.json });
      answered += 1;
    }
  };
  const running = Array.from({ length: clients }, client);
  await during?.(() => answered);
  duringRuns = false;
  await Promise.all(running);
  const reference = await MlpReference.load();
  let wrong = 0;
  for (const result of results.filter((r) => r.status === 200)) {
    const [output] = result.json.outputs as { data: number[] }[];
    if (!(await reference.matches(result.seed, output!.data))) wrong += 1;
  }
  await reference.close();
  return { results, wrong };
}

describe('the streams queue engine', () => {
  it('two gateways and two workers answer every request once, correctly, and leave nothing in Redis', async () => {
    const env = environment();
    const gateways = [await spawnGateway(env), await spawnGateway(env)];
    spawned.push(...gateways);
    for (const id of ['w0', 'w1']) spawned.push(await spawnWorker({ ...env, WORKER_ID: id }));
    for (const gateway of gateways)
      await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-classifier/ready`)).status === 200, 10_000, 'ready');

    const total = 400;
    const { results, wrong } = await load(
      gateways.map((g) => g.url),
      total,
      32,
    );
    expect(results).toHaveLength(total);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(wrong).toBe(0);
    // Finished jobs are acknowledged and deleted: no entry, nothing held; no BullMQ keys either.
    const client = redis();
    await waitFor(
      async () => {
        const { entries, held } = await leftOver(client, env.REDIS_PREFIX!);
        return entries === 0 && held === 0;
      },
      5_000,
      'streams drained',
    );
    expect(await client.exists(redisKeys(env.REDIS_PREFIX!).waiting(MLP_QUEUE).wait)).toBe(0);
    // Both workers took jobs from the one group.
    const [stream] = redisKeys(env.REDIS_PREFIX!).jobStreams(MLP_QUEUE);
    const consumers = (await client.xinfo('CONSUMERS', stream!, GROUP)) as unknown[][];
    expect(consumers.map((c) => c[1]).sort()).toEqual(['w0', 'w1']);
  }, 90_000);

  it('a worker SIGKILLed holding jobs: the other takes them over and every caller gets one answer', async () => {
    const env = environment({ LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000', WORKER_CONCURRENCY: '16' });
    const gateway = await spawnGateway(env);
    spawned.push(gateway);
    const workers = [await spawnWorker({ ...env, WORKER_ID: 'w0' }), await spawnWorker({ ...env, WORKER_ID: 'w1' })];
    spawned.push(...workers);
    await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-classifier/ready`)).status === 200, 10_000, 'ready');
    const client = redis();
    const streams = redisKeys(env.REDIS_PREFIX!).jobStreams(MLP_QUEUE);
    const heldBy = async (consumer: string): Promise<{ stream: string; id: string }[]> => {
      const held: { stream: string; id: string }[] = [];
      for (const stream of streams) {
        const rows = (await client.xpending(stream, GROUP, '-', '+', 1000, consumer).catch(() => [])) as [string][];
        held.push(...rows.map(([id]) => ({ stream, id })));
      }
      return held;
    };
    let stuck: { stream: string; id: string }[] = [];
    const { results, wrong } = await load([gateway.url], 1000, 48, async (answered) => {
      await waitFor(async () => answered() >= 100, 30_000, '100 answers');
      // Freeze w0 at a moment when it holds jobs, then kill it: w1 must take them over.
      for (let attempt = 0; stuck.length === 0 && attempt < 100; attempt += 1) {
        workers[0]!.kill('SIGSTOP');
        await new Promise((resolve) => setTimeout(resolve, 100));
        stuck = await heldBy('w0');
        if (stuck.length === 0) {
          workers[0]!.kill('SIGCONT');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      workers[0]!.kill('SIGKILL');
      // Keep the load on until the stuck jobs are taken over and finished (their entries deleted).
      await waitFor(
        async () => (await Promise.all(stuck.map(({ stream, id }) => client.xrange(stream, id, id)))).every((found) => found.length === 0),
        20_000,
        'stuck jobs finished by w1',
      );
    });
    expect(stuck.length).toBeGreaterThan(0);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(wrong).toBe(0);
    expect(await heldBy('w0')).toEqual([]);
    expect(workers[1]!.output()).toContain('took over stalled jobs');
  }, 120_000);

  it('serves by priority class: every priority-1 request before the priority-10 ones queued earlier', async () => {
    const env = environment({ WORKER_CONCURRENCY: '1' });
    const gateway = await spawnGateway(env);
    const worker = await spawnWorker({ ...env, WORKER_ID: 'w0' });
    spawned.push(gateway, worker);
    await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-classifier/ready`)).status === 200, 10_000, 'ready');
    worker.kill('SIGSTOP');
    const answeredAt: { priority: number; at: number }[] = [];
    const send = (seed: number, priority: number) =>
      post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(seed, { priority })).then((reply) => {
        expect(reply.status).toBe(200);
        answeredAt.push({ priority, at: performance.now() });
      });
    const first = send(0, 10);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const low = Array.from({ length: 4 }, (_, i) => send(1 + i, 10));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const high = Array.from({ length: 4 }, (_, i) => send(100 + i, 1));
    await new Promise((resolve) => setTimeout(resolve, 200));
    worker.kill('SIGCONT');
    await Promise.all([first, ...low, ...high]);
    const lastHigh = Math.max(...answeredAt.filter((a) => a.priority === 1).map((a) => a.at));
    const lows = answeredAt
      .filter((a) => a.priority === 10)
      .map((a) => a.at)
      .sort((a, b) => a - b);
    expect(lows).toHaveLength(5);
    expect(lastHigh).toBeLessThan(lows[1]!);
  });

  it('spreads a partitioned version over its queues, each a stream of its own', async () => {
    const repository = new TestRepository().copy('mlp-classifier', { queue_partitions: 2 });
    const env = environment({}, repository);
    const gateway = await spawnGateway(env);
    spawned.push(gateway, await spawnWorker({ ...env, WORKER_ID: 'w0' }));
    await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-classifier/ready`)).status === 200, 10_000, 'ready');
    const { results, wrong } = await load([gateway.url], 200, 8);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(wrong).toBe(0);
    const client = redis();
    const added: number[] = [];
    for (const queue of inferQueueNames('mlp-classifier', '1', 2)) {
      const [stream] = redisKeys(env.REDIS_PREFIX!).jobStreams(queue);
      const info = (await client.xinfo('STREAM', stream!)) as unknown[];
      added.push(Number(info[info.indexOf('entries-added') + 1]));
    }
    // Jobs go to the partitions in turn.
    expect(Math.min(...added)).toBeGreaterThan(0);
    expect(Math.abs(added[0]! - added[1]!)).toBeLessThanOrEqual(Math.max(2, 0.2 * (added[0]! + added[1]!)));
  }, 60_000);

  it('skips the queued requests whose callers left: only the rows still wanted run', async () => {
    const repository = new TestRepository().copy('text-recognizer', { dynamic_batching: { max_queue_delay_ms: 1, max_queue_size: 64 } });
    const metricsPort = await freePort();
    const env = environment({ LOAD_MODELS: 'text-recognizer', HEARTBEAT_MS: '200', LOG_LEVEL: 'warn' }, repository);
    const gateway = await spawnGateway(env);
    spawned.push(gateway);
    spawned.push(
      await spawnWorker({ ...env, LOG_LEVEL: 'info', WORKER_ID: 'c0', METRICS_PORT: String(metricsPort), WORKER_CONCURRENCY: '1' }),
    );
    await waitFor(async () => (await get(`${gateway.url}/v2/models/text-recognizer/ready`)).status === 200, 30_000, 'ready');
    const infer = `${gateway.url}/v2/models/text-recognizer/infer`;
    const client = redis();
    const queue = inferQueueName('text-recognizer', '1');
    const busy = Promise.all([postLine(infer, 9600), postLine(infer, 9616)]);
    await waitFor(async () => (await leftOver(client, env.REDIS_PREFIX!, queue)).held === 1, 20_000, 'a wide line running');
    const leaving = Array.from({ length: 4 }, () => abandonable(infer, 96));
    const staying = postLine(infer, 96);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const call of leaving) call.abort();
    for (const call of leaving) expect(await call.settled).toBe('aborted');
    expect(await busy).toEqual([200, 200]);
    expect(await staying).toBe(200);
    await waitFor(async () => (await rowsRun(gateway.url, 'text-recognizer')) === 3, 20_000, '3 rows run');
    const workerMetrics = `http://127.0.0.1:${metricsPort}/metrics`;
    await waitFor(async () => (await cancelledCount(workerMetrics, 'job')) === 4, 5_000, 'four skipped by the worker');
  }, 120_000);

  it('a queued job whose entry Redis lost is answered 503 request_lost within seconds', async () => {
    const repository = new TestRepository().copy('mlp-classifier');
    const env = environment({ HEARTBEAT_MS: '200', LOG_LEVEL: 'silent' }, repository);
    // No worker yet: the version is cold, so the request is queued and waits.
    const gateway = await startTestGateway(repository.dir, env);
    cleanups.push(() => gateway.close());
    const client = redis();
    const [stream] = redisKeys(env.REDIS_PREFIX!).jobStreams(MLP_QUEUE);
    const sentAt = Date.now();
    const reply = post(`${gateway.url}/v2/models/mlp-classifier/versions/1/infer`, mlpBody(1, { timeout_ms: 60_000 }));
    let entryId = '';
    await waitFor(
      async () => {
        entryId = (await client.xrange(stream!, '-', '+'))[0]?.[0] ?? '';
        return entryId !== '';
      },
      5_000,
      'the job queued',
    );
    await client.xdel(stream!, entryId);
    const lost = await reply;
    expect(lost.status).toBe(503);
    expect(lost.json).toMatchObject({ code: 'request_lost' });
    expect(Date.now() - sentAt).toBeLessThan(15_000);

    const worker = await startWorker(parseWorkerConfig({ ...env, WORKER_ID: 'w' }));
    cleanups.push(() => worker.close());
    await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-classifier/versions/1/ready`)).status === 200, 10_000, 'ready');
    expect((await post(`${gateway.url}/v2/models/mlp-classifier/versions/1/infer`, mlpBody(1))).status).toBe(200);
  });

  it("answers a job of the previous format (a gateway not yet upgraded) as JSON with base64 tensors, and the current one with the outputs' bytes beside the JSON", async () => {
    const env = environment();
    const client = redis();
    const keys = redisKeys(env.REDIS_PREFIX!);
    const reference = await MlpReference.load();
    cleanups.push(() => reference.close());
    const request = (seed: number) => ({
      requestId: `r${seed}`,
      model: 'mlp-classifier',
      version: '1',
      inputs: [{ name: 'input', datatype: 'FP32' as const, shape: [1, 512], data: Float32Array.from(mlpVector(seed)) }],
      outputs: [],
      rows: 1,
      signature: 'input:512',
      deadline: Date.now() + 30_000,
      priority: 0,
    });
    const stream = keys.jobStreams(MLP_QUEUE)[0]!;
    // The group reads from the stream's first entry, so jobs added before the worker starts are taken.
    // The old gateway's job holds base64 tensors in its JSON; the current one's are bytes beside it.
    await client.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM');
    await client.xadd(stream, '*', ...entryFields('old', { ...jobJson(encodeJob([request(1)], 'g')), format: 2 as never }, Date.now()));
    await client.xadd(stream, '*', ...entryFields('new', encodeJob([request(2)], 'g'), Date.now()));
    const worker = await startWorker(parseWorkerConfig({ ...env, WORKER_ID: 'w' }));
    cleanups.push(() => worker.close());
    const replies = keys.replies('g');
    await waitFor(async () => (await client.xlen(replies)) === 2, 20_000, 'both replies');
    const entries = await client.xrangeBuffer(replies, '-', '+');
    const byJob = new Map(entries.map(([, fields]) => [(JSON.parse(fields[1]!.toString()) as { jobId: string }).jobId, fields]));

    const old = byJob.get('old')!;
    expect(old.map((field, i) => (i % 2 === 0 ? field.toString() : 'value'))).toEqual(['reply', 'value']);
    const oldOutput = (JSON.parse(old[1]!.toString()) as { items: { result: { outputs: { base64: string }[] } }[] }).items[0]!.result
      .outputs[0]!;
    const oldBytes = Buffer.from(oldOutput.base64, 'base64');
    expect(await reference.matches(1, Array.from(new Float32Array(oldBytes.buffer, oldBytes.byteOffset, oldBytes.byteLength / 4)))).toBe(
      true,
    );

    const current = byJob.get('new')!;
    expect(current.map((field, i) => (i % 2 === 0 ? field.toString() : 'value'))).toEqual(['reply', 'value', 'data', 'value']);
    expect(current[1]!.toString()).not.toContain('base64');
    const decoded = decodeReply(current[1]!.toString(), current[3]!);
    const answer = decoded.items[0]!;
    expect(answer.ok).toBe(true);
    if (answer.ok) expect(await reference.matches(2, Array.from(answer.result.outputs[0]!.data as Float32Array))).toBe(true);
  });
});
