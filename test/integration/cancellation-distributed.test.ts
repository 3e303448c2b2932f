import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abandonable, cancelledCount, postLine, rowsRun, waitForPending } from '../helpers/abandon.js';
import { InferenceClient, rawFloats } from '../helpers/grpc-client.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, freePort, testPrefix, testRedis } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';
import { inferQueueName } from '../../workers/queue/queue-names.js';
import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { jobsInHand } from '../helpers/queue-state.js';

/**
 * Distributed mode, gateway and worker as processes over real Redis: a request whose caller
 * left after its job was queued is marked cancelled in Redis and skipped by the worker (stage
 * `job`), or, once the worker holds the job, taken out of the worker's batcher (stage `queued`).
 */
/** A few seconds of compute a line even on an idle machine; two of different widths run one after the other. */
const WIDE = 9600;
const repository = new TestRepository().copy('text-recognizer', { dynamic_batching: { max_queue_delay_ms: 1, max_queue_size: 64 } });
const spawned: Spawned[] = [];
const prefixes: string[] = [];
const redisClients: RedisClient[] = [];

async function stack(workerEnv: Record<string, string>) {
  const prefix = testPrefix();
  prefixes.push(prefix);
  const env = {
    ...REDIS_ENV,
    REDIS_PREFIX: prefix,
    MODEL_REPOSITORY: repository.dir,
    LOAD_MODELS: 'text-recognizer',
    CPU_COUNT: '1',
    HEARTBEAT_MS: '200',
    LOG_LEVEL: 'warn',
  };
  const metricsPort = await freePort();
  const grpcPort = await freePort();
  const gateway = await spawnGateway({ ...env, GRPC_PORT: String(grpcPort) });
  spawned.push(gateway);
  spawned.push(await spawnWorker({ ...env, LOG_LEVEL: 'info', WORKER_ID: 'cancel-w0', METRICS_PORT: String(metricsPort), ...workerEnv }));
  await waitFor(async () => (await fetch(`${gateway.url}/v2/models/text-recognizer/ready`)).ok, 30_000, 'recognizer ready');
  const name = inferQueueName('text-recognizer', '1');
  const redis = testRedis();
  redisClients.push(redis);
  // Jobs a worker holds, whichever engine (QUEUE_ENGINE) carries them.
  const queue = { getActiveCount: () => jobsInHand(redis, prefix, name) };
  return {
    grpcAddress: `127.0.0.1:${grpcPort}`,
    url: gateway.url,
    infer: `${gateway.url}/v2/models/text-recognizer/infer`,
    workerMetrics: `http://127.0.0.1:${metricsPort}/metrics`,
    queue,
    prefix,
  };
}

beforeAll(() => undefined);
afterAll(async () => {
  for (const redis of redisClients) redis.disconnect();
  for (const child of spawned) child.kill();
  for (const prefix of prefixes) await cleanRedis(prefix);
  repository.remove();
});

/** Rows settle once the worker's heartbeat has carried its statistics. */
async function rowsSettled(url: string, expected: number): Promise<void> {
  await waitFor(async () => (await rowsRun(url, 'text-recognizer')) === expected, 20_000, `${expected} rows run`);
  await new Promise((resolve) => setTimeout(resolve, 600));
  expect(await rowsRun(url, 'text-recognizer')).toBe(expected);
}

describe('abandoned requests, distributed', { timeout: 120_000 }, () => {
  it('queued jobs are skipped by the worker for the callers that left, whole or in part: only the rows still wanted run', async () => {
    // One job at a time: the others wait (in Redis, or held by the gateway's fair release until
    // the worker has room) while two wide lines run one after the other.
    const { url, infer, workerMetrics, queue, prefix } = await stack({ WORKER_CONCURRENCY: '1' });
    const busy = Promise.all([postLine(infer, WIDE), postLine(infer, WIDE + 16)]);
    await waitFor(async () => (await queue.getActiveCount()) === 1, 20_000, 'a wide line running');
    const leaving = Array.from({ length: 4 }, () => abandonable(infer, 96));
    const staying = postLine(infer, 96);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // sent and out of their gathering window
    for (const call of leaving) call.abort();
    for (const call of leaving) expect(await call.settled).toBe('aborted');
    // The marker is in Redis before the worker gets to the job, and expires by itself.
    const redis = testRedis();
    try {
      await waitFor(async () => (await redis.keys(`${prefix}:*:cancelled:*`)).length >= 1, 5_000, 'cancelled markers written');
      for (const key of await redis.keys(`${prefix}:*:cancelled:*`)) expect(await redis.pttl(key)).toBeGreaterThan(0);
    } finally {
      await redis.quit();
    }
    expect(await busy).toEqual([200, 200]);
    expect(await staying).toBe(200);
    // The wide lines and the line still wanted ran; the four that left did not.
    await rowsSettled(url, 3);
    await waitFor(async () => (await cancelledCount(workerMetrics, 'job')) === 4, 5_000, 'four skipped by the worker');
  });

  it("a request already in the worker's batcher leaves it when its caller leaves (announced over pub/sub)", async () => {
    // Announced concurrency: the gateway then sends the worker as many requests as its job slots hold
    // (with the default it may keep some back for fair release when warm-up capped batches at a row).
    const { url, infer, workerMetrics, queue } = await stack({ WORKER_CONCURRENCY: '8' });
    const busy = Promise.all([postLine(infer, WIDE), postLine(infer, WIDE + 16)]);
    await waitFor(async () => (await queue.getActiveCount()) >= 1, 20_000, 'a wide line running');
    const leaving = Array.from({ length: 3 }, () => abandonable(infer, 96));
    // The worker takes the jobs at once (its concurrency covers a batch): they wait in its batcher.
    await waitForPending(workerMetrics, 'text-recognizer', 3);
    for (const call of leaving) call.abort();
    // Those in the worker's batcher leave it; one the gateway still held back for fair release
    // (the workers' intake may be under three) is skipped as a job when it is released.
    const gone = async () => (await cancelledCount(workerMetrics, 'queued')) + (await cancelledCount(workerMetrics, 'job'));
    await waitFor(async () => (await gone()) === 3, 15_000, "three left the worker's batcher or were skipped");
    expect(await cancelledCount(workerMetrics, 'queued')).toBeGreaterThanOrEqual(1);
    expect(await busy).toEqual([200, 200]);
    await rowsSettled(url, 2);
  });

  it('gRPC calls cancelled or past their deadline while their job waits in Redis are skipped the same way', async () => {
    const { url, infer, workerMetrics, queue, grpcAddress } = await stack({ WORKER_CONCURRENCY: '1' });
    const client = new InferenceClient(grpcAddress);
    try {
      const busy = Promise.all([postLine(infer, WIDE), postLine(infer, WIDE + 16)]);
      await waitFor(async () => (await queue.getActiveCount()) === 1, 20_000, 'a wide line running');
      const line = {
        model_name: 'text-recognizer',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 96] }],
        raw_input_contents: [rawFloats(new Array(3 * 48 * 96).fill(0.5))],
      };
      const calls = [
        client.call('ModelInfer', line, {}, { cancelAfterMs: 1_500 }),
        client.call('ModelInfer', line, {}, { deadline: new Date(Date.now() + 1_500) }),
      ];
      const [cancelled, expired] = await Promise.all(calls);
      expect(cancelled!.error?.code).toBe(status.CANCELLED);
      expect(expired!.error?.code).toBe(status.DEADLINE_EXCEEDED);
      expect(await busy).toEqual([200, 200]);
      await rowsSettled(url, 2);
      await waitFor(async () => (await cancelledCount(workerMetrics, 'job')) === 2, 5_000, 'both skipped by the worker');
    } finally {
      client.close();
    }
  });
});
