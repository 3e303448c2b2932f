import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reply } from '../../workers/queue/job-codec.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { ReplyReader, ReplySender } from '../../workers/queue/reply-stream.js';
import { entryFields } from '../../workers/queue/stream-jobs.js';
import { StreamWorker } from '../../workers/queue/stream-worker.js';
import { waitFor } from '../helpers/processes.js';
import { RedisProcess, baseArgs, serverFolder } from '../helpers/redis-process.js';

/**
 * The streams engine's writes at one request at a time, counted by a private redis-server
 * (INFO stats total_reads_processed: how often it read a client's socket), so nothing else's
 * commands are counted. Counts, not timings.
 */
const PORT = 7187;
const JOBS = 20;
const folder = serverFolder('stream-round-trips');
const server = new RedisProcess(PORT, baseArgs(PORT), folder.dir);
const connections: Redis[] = [];
const connection = (name: string): Redis => {
  const redis = new Redis({ port: PORT, host: '127.0.0.1', connectionName: name, maxRetriesPerRequest: null });
  connections.push(redis);
  return redis;
};

beforeAll(async () => {
  await server.start();
});

afterAll(async () => {
  for (const redis of connections) redis.disconnect();
  await server.kill();
  folder.remove();
});

async function socketReads(redis: Redis): Promise<number> {
  const stats = await redis.info('stats');
  return Number(/total_reads_processed:(\d+)/.exec(stats)?.[1]);
}

describe('streams engine round trips (private redis-server)', () => {
  it("a worker sends a job's finish and its next blocking read in one write", async () => {
    const keys = redisKeys('rt');
    const redis = connection('test');
    const probe = connection('probe');
    const replyKey = keys.replies('g');
    const worker = new StreamWorker({
      queue: 'q',
      redis: connection('worker'),
      blocking: connection('worker-read'),
      secondBlocking: connection('worker-read-2'),
      keys,
      consumer: 'w',
      concurrency: 4,
      lockDurationMs: 60_000,
      stalledIntervalMs: 60_000,
      attempts: 3,
      backoffMs: 1_000,
      replies: new ReplySender(redis),
      logger: pino({ level: 'silent' }),
      process: async (job) => ({ reply: { key: replyKey, reply: { jobId: job.jobId, items: [] } } }),
      exhausted: async () => undefined,
    });
    worker.start();
    const [stream] = keys.jobStreams('q');
    let lastReply = '0-0';
    // One job at a time: add it, then wait for its reply (two writes of this test's per job).
    const oneJob = async (jobId: string): Promise<void> => {
      await redis.xadd(stream!, '*', ...entryFields(jobId, { format: 2, replyTo: 'g', requests: [{ item: 0 }] } as never, Date.now()));
      const read = (await redis.xread('BLOCK', 5_000, 'STREAMS', replyKey, lastReply)) as [string, [string, string[]][]][] | null;
      const entries = read?.[0]?.[1] ?? [];
      expect(entries.map(([, fields]) => (JSON.parse(fields[1]!) as Reply).jobId)).toEqual([jobId]);
      lastReply = entries[0]![0];
    };
    try {
      for (let i = 0; i < 3; i += 1) await oneJob(`warm-${i}`);
      const before = await socketReads(probe);
      for (let i = 0; i < JOBS; i += 1) await oneJob(`job-${i}`);
      const reads = (await socketReads(probe)) - before - 1; // less the probe's own INFO
      // The test's add and read, and the worker's one write (finish + read): 3 a job; without
      // the fused write 4 (the finish, then the read). A little room for the worker's upkeep.
      expect(reads).toBeGreaterThanOrEqual(3 * JOBS);
      expect(reads).toBeLessThanOrEqual(3 * JOBS + 3);
    } finally {
      await worker.close();
    }
  });

  it('the reply reader keeps no read waiting while nothing is awaited, and reads again in the write of the add that ends that', async () => {
    const redis = connection('test');
    const probe = connection('probe');
    const key = 'rt:replies:reader-test';
    let awaited = false;
    const delivered: string[] = [];
    const reader = new ReplyReader(
      connection('reader'),
      key,
      // As the gateway does: the reply settles its waiters, so nothing is awaited by the time the read is done.
      (reply) => {
        delivered.push(reply.jobId);
        awaited = false;
      },
      pino({ level: 'silent' }),
      () => awaited,
    );
    await waitFor(async () => (await probe.client('LIST')).includes('name=reader'), 5_000, 'the reader connected');
    reader.start();
    try {
      // Idle: nothing read, so Redis sees nothing of the reader (it would re-read every second otherwise).
      const idleBefore = await socketReads(probe);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect((await socketReads(probe)) - idleBefore - 1).toBe(0);

      const cycle = async (jobId: string): Promise<void> => {
        awaited = true;
        const sentAt = Date.now();
        const answers = reader.readAfter([['xadd', 'rt:jobs', '*', 'j', jobId]]);
        expect(answers).toHaveLength(1);
        expect(String(await answers![0])).toMatch(/^\d+-\d+$/);
        // The worker's reply (one write), read by the read that went with the add.
        await redis.xadd(key, '*', 'reply', JSON.stringify({ jobId, items: [] }));
        await waitFor(async () => delivered.includes(jobId), 5_000, `the reply to ${jobId}`);
        expect(reader.caughtUpTo).toBeGreaterThanOrEqual(sentAt);
        // The reader goes idle once the read returns (not re-armed: nothing awaited).
        await waitFor(async () => reader.idle, 5_000, 'the reader idle');
      };
      await cycle('warm');
      const before = await socketReads(probe);
      for (let i = 0; i < JOBS; i += 1) await cycle(`job-${i}`);
      // Each cycle: the add with the read (one write) and the reply (one); an add and a read sent
      // apart would make it three.
      const reads = (await socketReads(probe)) - before - 1;
      expect(reads).toBe(2 * JOBS);
      expect(delivered).toEqual(['warm', ...Array.from({ length: JOBS }, (_, i) => `job-${i}`)]);
    } finally {
      await reader.stop();
    }
  });
});
