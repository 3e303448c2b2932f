import type { JobQueue, JobQueueConfig, JobState, NewJob } from './job-queue.js';
import type { RedisClient } from './redis-connection.js';
import { redisKeys, type RedisKeys } from './redis-keys.js';
import { GROUP, entryFields, handleOf, parseHandle, priorityClass } from './stream-jobs.js';

/**
 * QUEUE_ENGINE=streams, the gateway's side: a job is one XADD to its queue's stream for its
 * priority class. Its entry stays until a worker finishes it (XACK and XDEL), so "does Redis
 * still hold this job" is one XRANGE of its entry id.
 */
export class StreamJobQueue implements JobQueue {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;

  constructor(redis: RedisClient, config: JobQueueConfig) {
    this.#redis = redis;
    this.#keys = redisKeys(config.REDIS_PREFIX);
  }

  async add(queue: string, job: NewJob): Promise<string> {
    const cls = priorityClass(job.priority);
    const stream = this.#keys.jobStreams(queue)[cls]!;
    const entryId = await this.#redis.xadd(stream, '*', ...entryFields(job.id, job.data, Date.now()));
    return handleOf(cls, entryId!);
  }

  /** Finished jobs are deleted, so an entry still there is waiting, running or backing off. */
  async lookup(queue: string, _jobId: string, handle: string): Promise<JobState | undefined> {
    const { priorityClass: cls, entryId } = parseHandle(handle);
    // As Buffers: the entry's tensor bytes are not text, and need no decoding to be counted.
    const found = await this.#redis.xrangeBuffer(this.#keys.jobStreams(queue)[cls]!, entryId, entryId);
    return found.length > 0 ? { answered: false } : undefined;
  }

  async remove(queue: string, _jobId: string, handle: string): Promise<void> {
    const { priorityClass: cls, entryId } = parseHandle(handle);
    await this.#redis.xdel(this.#keys.jobStreams(queue)[cls]!, entryId);
  }

  /** Entries not yet delivered: all entries less those some consumer holds (running or backing off). */
  async waiting(queue: string): Promise<number> {
    const streams = this.#keys.jobStreams(queue);
    const pipeline = this.#redis.pipeline();
    for (const stream of streams) pipeline.xlen(stream).xpending(stream, GROUP);
    const results = (await pipeline.exec()) ?? [];
    let waiting = 0;
    for (let i = 0; i < streams.length; i += 1) {
      const [lengthError, length] = results[2 * i] ?? [];
      if (lengthError) throw lengthError;
      // NOGROUP: no worker has read the stream yet; every entry waits.
      const [, summary] = results[2 * i + 1] ?? [];
      const held = Array.isArray(summary) ? Number(summary[0] ?? 0) : 0;
      waiting += Math.max(0, Number(length ?? 0) - held);
    }
    return waiting;
  }

  async close(): Promise<void> {}
}
