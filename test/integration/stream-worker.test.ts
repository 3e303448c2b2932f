import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { ReplySender } from '../../workers/queue/reply-stream.js';
import { GROUP, entryFields } from '../../workers/queue/stream-jobs.js';
import { StreamWorker } from '../../workers/queue/stream-worker.js';
import { waitFor } from '../helpers/processes.js';
import { cleanRedis, testPrefix, testRedis } from '../helpers/redis.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('StreamWorker (real Redis)', () => {
  it('removes from the group the consumers of workers that are gone (holding nothing, silent), not one still holding a job', async () => {
    const prefix = testPrefix();
    const keys = redisKeys(prefix);
    const redis = testRedis();
    cleanups.push(
      () => cleanRedis(prefix),
      () => redis.quit(),
    );
    const streams = keys.jobStreams('q');
    await redis.xgroup('CREATE', streams[0]!, GROUP, '0', 'MKSTREAM');
    await redis.xgroup('CREATECONSUMER', streams[0]!, GROUP, 'gone');
    // A gone worker that still holds a job keeps its consumer: the job is taken over first.
    await redis.xgroup('CREATECONSUMER', streams[0]!, GROUP, 'holding');
    await redis.xadd(streams[0]!, '*', 'j', 'held', 'd', '{}', 't', '0');
    await redis.xreadgroup('GROUP', GROUP, 'holding', 'COUNT', 1, 'STREAMS', streams[0]!, '>');
    const worker = new StreamWorker({
      queue: 'q',
      redis,
      blocking: testRedis('switchyard-test-blocking'),
      keys,
      consumer: 'live',
      concurrency: 0, // takes nothing: only its upkeep runs
      lockDurationMs: 60_000,
      stalledIntervalMs: 10,
      attempts: 3,
      backoffMs: 200,
      forgetConsumersAfterMs: 300,
      replies: new ReplySender(redis),
      logger: pino({ level: 'silent' }),
      process: async () => ({}),
      exhausted: async () => undefined,
    });
    worker.start();
    cleanups.push(() => worker.close());
    const names = async (): Promise<string[]> =>
      ((await redis.xinfo('CONSUMERS', streams[0]!, GROUP)) as unknown[][]).map((fields) => String(fields[1])).sort();
    await waitFor(async () => !(await names()).includes('gone'), 5_000, 'the gone consumer removed');
    expect(await names()).toContain('holding');
  });

  it('recreates its group when Redis lost it (a restart without persistence), and takes the jobs added since', async () => {
    const prefix = testPrefix();
    const keys = redisKeys(prefix);
    const redis = testRedis();
    cleanups.push(
      () => cleanRedis(prefix),
      () => redis.quit(),
    );
    // The job's requests are not run here: the worker hands each job to `process` and finishes it.
    const taken: string[] = [];
    const worker = new StreamWorker({
      queue: 'q',
      redis,
      blocking: testRedis('switchyard-test-blocking'),
      keys,
      consumer: 'w',
      concurrency: 4,
      lockDurationMs: 60_000,
      stalledIntervalMs: 1_000,
      attempts: 3,
      backoffMs: 200,
      replies: new ReplySender(redis),
      logger: pino({ level: 'silent' }),
      process: async (job) => {
        taken.push(job.jobId);
        return {};
      },
      exhausted: async () => undefined,
    });
    worker.start();
    cleanups.push(() => worker.close());
    const [stream] = keys.jobStreams('q');
    const add = (jobId: string) =>
      redis.xadd(stream!, '*', ...entryFields(jobId, { format: 2, replyTo: 'g', requests: [{ item: 0 }] as never }, Date.now()));
    await add('before');
    await waitFor(async () => taken.includes('before'), 5_000, 'the first job taken');
    // Everything gone, group included; a gateway adds again (XADD makes a stream with no group).
    for (const key of keys.jobStreams('q')) await redis.del(key);
    await add('after');
    await waitFor(async () => taken.includes('after'), 5_000, 'the job added after the loss taken');
    expect(taken).toEqual(['before', 'after']);
    // Finished jobs are acknowledged and deleted.
    await waitFor(async () => (await redis.xlen(stream!)) === 0, 2_000, 'finished entries deleted');
    expect(((await redis.xpending(stream!, GROUP)) as unknown[])[0]).toBe(0);
  });
  it('runs within seconds a job Redis delivered to it but whose answer its cut connection lost, not a lock later', async () => {
    const prefix = testPrefix();
    const keys = redisKeys(prefix);
    const redis = testRedis();
    const name = `switchyard-test-cut-${prefix}`;
    const blocking = testRedis(name);
    cleanups.push(
      () => cleanRedis(prefix),
      () => redis.quit(),
    );
    const [stream] = keys.jobStreams('q');
    const add = (jobId: string) =>
      redis.xadd(stream!, '*', ...entryFields(jobId, { format: 2, replyTo: 'g', requests: [{ item: 0 }] as never }, Date.now()));
    // Redis delivers a job to consumer 'w' and the answer never reaches it: what a blocking read
    // cut after Redis answered leaves behind (ioredis sends the read again; it brings only new entries).
    await redis.xgroup('CREATE', stream!, GROUP, '0', 'MKSTREAM');
    await add('lost');
    await redis.xreadgroup('GROUP', GROUP, 'w', 'COUNT', 1, 'STREAMS', stream!, '>');
    const taken: { jobId: string; attempt: number }[] = [];
    const worker = new StreamWorker({
      queue: 'q',
      redis,
      blocking,
      keys,
      consumer: 'w',
      concurrency: 4,
      lockDurationMs: 60_000,
      stalledIntervalMs: 60_000,
      attempts: 3,
      backoffMs: 200,
      replies: new ReplySender(redis),
      logger: pino({ level: 'silent' }),
      process: async (job) => {
        taken.push({ jobId: job.jobId, attempt: job.attempt });
        return {};
      },
      exhausted: async () => undefined,
    });
    worker.start();
    cleanups.push(() => worker.close());
    await add('new');
    await waitFor(async () => taken.some((t) => t.jobId === 'new'), 5_000, 'a new job taken');
    // With every connection healthy the worker looks for lost deliveries only every 10 s (the
    // stalled-job check's are a lock later): nothing more is taken in 3 s.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(taken.map((t) => t.jobId)).toEqual(['new']);

    // Its blocking connection is cut, as a failover or a network blip does.
    const clients = String(await redis.client('LIST')).split('\n');
    const id = clients.find((line) => line.includes(` name=${name} `))?.match(/^id=(\d+)/)?.[1];
    expect(id).toBeDefined();
    await redis.client('KILL', 'ID', id!);
    const cutAt = Date.now();
    await waitFor(async () => taken.some((t) => t.jobId === 'lost'), 10_000, 'the lost delivery taken back');
    // Within a second or two of the cut, before the 10 s sweep.
    expect(Date.now() - cutAt).toBeLessThan(5_000);
    // The delivery that never arrived counted; this is the job's second attempt.
    expect(taken.find((t) => t.jobId === 'lost')?.attempt).toBe(2);
    await waitFor(async () => (await redis.xlen(stream!)) === 0, 2_000, 'both jobs finished and deleted');
  });
});
