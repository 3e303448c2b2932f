import { Queue } from 'bullmq';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { get, post } from '../helpers/gateway.js';
import { MlpReference, mlpBody } from '../helpers/mlp-reference.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, testPrefix, testRedis } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';
import { inferQueueNames } from '../../workers/queue/queue-names.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { WorkerRegistry } from '../../workers/queue/worker-registry.js';
import { BullmqJobQueue } from '../../workers/queue/bullmq-job-queue.js';

const spawned: Spawned[] = [];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const child of spawned.splice(0)) child.kill('SIGKILL');
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** The MLP (version 1) served through two queues. */
function environment(extra: Record<string, string> = {}): Record<string, string> {
  const repository = new TestRepository().copy('mlp-classifier', { queue_partitions: 2 });
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
    RESULT_RETENTION_JOBS: '100000',
    ...extra,
  };
}

const QUEUES = inferQueueNames('mlp-classifier', '1', 2);
const jobKey = (prefix: string, queue: string): string => `${redisKeys(prefix).queuePrefix(queue)}:${queue}`;

/**
 * `total` requests from `clients` concurrent callers, and more while `during` still runs (so the load
 * outlasts whatever it waits for, however fast the machine); every reply checked against the reference model.
 */
async function load(url: string, total: number, clients: number, during?: (answered: () => number) => Promise<void>) {
  const reference = await MlpReference.load();
  let next = 0;
  let answered = 0;
  let duringRuns = during !== undefined;
  const results: { seed: number; status: number; json: Record<string, unknown> }[] = [];
  const client = async (): Promise<void> => {
    while (next < total || duringRuns) {
      const seed = next++;
      const reply = await post(`${url}/v2/models/mlp-classifier/versions/1/infer`, mlpBody(seed)).catch((error: Error) => ({
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
  let wrong = 0;
  for (const result of results.filter((r) => r.status === 200)) {
    const [output] = result.json.outputs as { data: number[] }[];
    if (!(await reference.matches(result.seed, output!.data))) wrong += 1;
  }
  await reference.close();
  return { results, wrong };
}

/** Every completed job of each partition: the request ids it carried and the items it answered. */
async function completedJobs(prefix: string): Promise<{ queue: string; requestIds: string[]; answered: number }[]> {
  const redis = testRedis();
  try {
    const jobs: { queue: string; requestIds: string[]; answered: number }[] = [];
    for (const queue of QUEUES) {
      const key = jobKey(prefix, queue);
      for (const id of await redis.zrange(`${key}:completed`, 0, -1)) {
        const [data, returnvalue] = await redis.hmget(`${key}:${id}`, 'data', 'returnvalue');
        const requests = (JSON.parse(data!) as { requests: { requestId: string }[] }).requests;
        jobs.push({
          queue,
          requestIds: requests.map((r) => r.requestId),
          answered: (JSON.parse(returnvalue!) as { answered: number[] }).answered.length,
        });
      }
    }
    return jobs;
  } finally {
    redis.disconnect();
  }
}

describe('partitioned queues (queue_partitions: 2)', () => {
  it('spreads one version over both queues; a worker consumes both; every request is answered once, correctly', async () => {
    const env = environment();
    const gateway = await spawnGateway(env);
    spawned.push(gateway);
    const worker = await spawnWorker({ ...env, WORKER_ID: 'w0' });
    spawned.push(worker);
    await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-classifier/versions/1/ready`)).status === 200, 15_000, 'ready');

    const total = 300;
    const { results, wrong } = await load(gateway.url, total, 12);
    expect(results).toHaveLength(total);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(wrong).toBe(0);

    // Each request travelled in exactly one job, and that job answered it: none twice, none lost.
    const jobs = await completedJobs(env.REDIS_PREFIX!);
    const ids = jobs.flatMap((job) => job.requestIds);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    expect(jobs.reduce((sum, job) => sum + job.answered, 0)).toBe(total);
    // Both partitions carried work.
    for (const queue of QUEUES) expect(jobs.filter((job) => job.queue === queue).length).toBeGreaterThan(0);
  });

  it('a worker SIGKILLed while holding jobs: another takes them over from whichever partition they were in', async () => {
    const env = environment({ LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000', WORKER_CONCURRENCY: '16' });
    const gateway = await spawnGateway(env);
    spawned.push(gateway);
    const workers = [await spawnWorker({ ...env, WORKER_ID: 'w0' }), await spawnWorker({ ...env, WORKER_ID: 'w1' })];
    spawned.push(...workers);
    await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-classifier/versions/1/ready`)).status === 200, 15_000, 'ready');

    const redis = testRedis();
    const held: { key: string; id: string }[] = [];
    const { results, wrong } = await load(gateway.url, 300, 32, async (answered) => {
      await waitFor(async () => answered() >= 50, 30_000, '50 answers');
      // Freeze w0 when it holds jobs (BullMQ records processedBy), then kill it.
      for (let attempt = 0; held.length === 0 && attempt < 100; attempt += 1) {
        workers[0]!.kill('SIGSTOP');
        await new Promise((resolve) => setTimeout(resolve, 100));
        for (const queue of QUEUES) {
          const key = jobKey(env.REDIS_PREFIX!, queue);
          for (const id of await redis.lrange(`${key}:active`, 0, -1)) {
            if ((await redis.hget(`${key}:${id}`, 'pb')) === 'w0') held.push({ key, id });
          }
        }
        if (held.length === 0) {
          workers[0]!.kill('SIGCONT');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      workers[0]!.kill('SIGKILL');
    });
    expect(held.length).toBeGreaterThan(0);
    expect(results.length).toBeGreaterThanOrEqual(300);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(wrong).toBe(0);
    // The stalled jobs were moved back and finished by the survivor.
    await waitFor(
      async () => {
        const states = await Promise.all(held.map(({ key, id }) => redis.hmget(`${key}:${id}`, 'pb', 'finishedOn')));
        return states.every(([owner, finishedOn]) => owner === 'w1' && finishedOn !== null);
      },
      15_000,
      'held jobs finished by w1',
    );
    redis.disconnect();
  });

  it('the backlog behind admission and the queue-depth gauge counts every partition, plain and prioritized', async () => {
    const prefix = testPrefix();
    cleanups.push(() => cleanRedis(prefix));
    const redis = testRedis();
    cleanups.push(() => redis.quit());
    const keys = redisKeys(prefix);
    const queues = inferQueueNames('mlp-classifier', '1', 3);
    for (const [index, name] of queues.entries()) {
      const queue = new Queue(name, { connection: redis, prefix: keys.queuePrefix(name) });
      for (let n = 0; n <= index; n += 1) await queue.add('infer', { n }, n === 0 ? {} : { priority: n });
      await queue.close();
    }
    const jobs = new BullmqJobQueue(redis, {
      QUEUE_ENGINE: 'bullmq',
      REDIS_PREFIX: prefix,
      JOB_ATTEMPTS: 3,
      RETRY_BACKOFF_MS: 200,
      RESULT_RETENTION_SECONDS: 60,
      RESULT_RETENTION_JOBS: 100,
    });
    const registry = new WorkerRegistry({
      redis,
      prefix,
      periodMs: 1_000,
      logger: pino({ level: 'silent' }),
      versions: () => [{ model: 'mlp-classifier', version: '1', partitions: 3 }],
      waiting: (queue) => jobs.waiting(queue),
    });
    await registry.poll();
    expect(registry.reachable).toBe(true);
    expect(registry.backlog('mlp-classifier', '1')).toBe(1 + 2 + 3);
  });
});
