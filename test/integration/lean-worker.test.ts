import { Queue, QueueEvents, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { LeanWorker } from '../../workers/queue/lean-worker.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { PrivateRedis, freePort } from '../helpers/redis.js';

// A private redis-server: its command counters then hold this test's commands alone.
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

async function setUp(process: (job: Job<{ n: number }, number>) => Promise<number>) {
  const server = new PrivateRedis(await freePort());
  await server.start();
  closers.push(() => server.stop());
  const connect = (): Redis => {
    const redis = new Redis(server.url, { maxRetriesPerRequest: null });
    closers.push(async () => redis.disconnect());
    return redis;
  };
  const keys = redisKeys('lean');
  const name = 'infer.lean.1';
  const prefix = keys.queuePrefix(name);
  const queue = new Queue<{ n: number }, number>(name, { connection: connect(), prefix });
  const events = new QueueEvents(name, { connection: connect(), prefix });
  await events.waitUntilReady();
  const worker = new LeanWorker<{ n: number }, number>(
    name,
    process,
    { connection: connect(), prefix, concurrency: 8, stalledInterval: 30_000 },
    connect(),
    keys.waiting(name),
  );
  closers.push(
    () => queue.close(),
    () => events.close(),
    () => worker.close(),
  );
  await worker.waitUntilReady();
  return { server, queue, events, worker, stats: connect() };
}

const evalshaCalls = async (redis: Redis): Promise<number> =>
  Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);

describe('LeanWorker (BullMQ worker that skips empty fetches)', () => {
  it('one job at a time costs three scripts (add, fetch, finish), not five; each job runs once', async () => {
    const ran: number[] = [];
    const { queue, worker, stats } = await setUp(async (job) => (ran.push(job.data.n), job.data.n * 2));
    // Told by the worker itself: waitUntilFinished would add a script of its own per job.
    const finished = (): Promise<number> => new Promise((resolve) => worker.once('completed', (_job, result) => resolve(result)));
    let done = finished();
    await queue.add('warm', { n: -1 });
    await done;
    await new Promise((resolve) => setTimeout(resolve, 200));
    await stats.config('RESETSTAT');
    for (let n = 0; n < 30; n += 1) {
      done = finished();
      await queue.add('one', { n });
      expect(await done).toBe(n * 2);
    }
    const perJob = (await evalshaCalls(stats)) / 30;
    expect(perJob).toBeGreaterThanOrEqual(3);
    expect(perJob).toBeLessThan(3.3);
    expect(ran.filter((n) => n >= 0)).toEqual(Array.from({ length: 30 }, (_, n) => n));
  });

  it('a burst is taken in parallel, and finishing fetches the next job in the same script', async () => {
    let running = 0;
    let peak = 0;
    const { queue, events, stats } = await setUp(async (job) => {
      peak = Math.max(peak, ++running);
      await new Promise((resolve) => setTimeout(resolve, 30));
      running -= 1;
      return job.data.n;
    });
    await stats.config('RESETSTAT');
    const jobs = await queue.addBulk(Array.from({ length: 40 }, (_, n) => ({ name: 'burst', data: { n } })));
    const results = await Promise.all(jobs.map((job) => job.waitUntilFinished(events)));
    expect(results).toEqual(Array.from({ length: 40 }, (_, n) => n));
    expect(peak).toBe(8);
    // Per job: its add, waitUntilFinished's check, and one finish that also fetches; separate
    // fetches only for the first jobs and the stragglers.
    expect((await evalshaCalls(stats)) / 40).toBeLessThan(3.6);
  });

  it('a retry backing off (delayed) is still taken when due, and prioritized jobs are taken', async () => {
    let attempts = 0;
    const { queue, events } = await setUp(async (job) => {
      if (job.data.n === 1 && ++attempts === 1) throw new Error('transient');
      return job.data.n;
    });
    const started = Date.now();
    const retried = await queue.add('retry', { n: 1 }, { attempts: 2, backoff: { type: 'fixed', delay: 300 } });
    expect(await retried.waitUntilFinished(events)).toBe(1);
    expect(attempts).toBe(2);
    expect(Date.now() - started).toBeLessThan(3_000); // not stranded until the 5 s blocking wait times out
    const prioritized = await queue.add('urgent', { n: 7 }, { priority: 1 });
    expect(await prioritized.waitUntilFinished(events)).toBe(7);
  });
});
