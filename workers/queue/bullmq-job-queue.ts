import { Job, Queue } from 'bullmq';
import type { JobQueue, JobQueueConfig, JobState, NewJob } from './job-queue.js';
import { jobJson, type InferJobData } from './job-codec.js';
import type { JobSummary } from './consumer.js';
import type { RedisClient } from './redis-connection.js';
import { redisKeys, type RedisKeys } from './redis-keys.js';

/** QUEUE_ENGINE=bullmq: one BullMQ queue per queue name; the handle is the job id. */
export class BullmqJobQueue implements JobQueue {
  readonly #redis: RedisClient;
  readonly #config: JobQueueConfig;
  readonly #keys: RedisKeys;
  readonly #queues = new Map<string, Queue>();

  constructor(redis: RedisClient, config: JobQueueConfig) {
    this.#redis = redis;
    this.#config = config;
    this.#keys = redisKeys(config.REDIS_PREFIX);
  }

  async add(queue: string, job: NewJob): Promise<string> {
    await this.#queue(queue).add('infer', jobJson(job.data), {
      jobId: job.id,
      ...(job.priority > 0 ? { priority: job.priority } : {}),
      attempts: this.#config.JOB_ATTEMPTS,
      backoff: { type: 'exponential', delay: this.#config.RETRY_BACKOFF_MS },
      removeOnComplete: { age: this.#config.RESULT_RETENTION_SECONDS, count: this.#config.RESULT_RETENTION_JOBS },
      removeOnFail: { age: this.#config.RESULT_RETENTION_SECONDS, count: 1_000 },
    });
    return job.id;
  }

  async lookup(queue: string, jobId: string): Promise<JobState | undefined> {
    const job = await Job.fromId<InferJobData, JobSummary>(this.#queue(queue), jobId);
    if (!job) return undefined;
    return {
      answered: Boolean(job.returnvalue),
      ...(job.finishedOn ? { finishedOn: job.finishedOn } : {}),
      ...(job.failedReason ? { failedReason: job.failedReason } : {}),
    };
  }

  async remove(queue: string, jobId: string): Promise<void> {
    await this.#queue(queue).remove(jobId);
  }

  async waiting(queue: string): Promise<number> {
    const keys = this.#keys.waiting(queue);
    const [wait, prioritized] = await Promise.all([this.#redis.llen(keys.wait), this.#redis.zcard(keys.prioritized)]);
    return wait + prioritized;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
  }

  #queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.#redis, prefix: this.#keys.queuePrefix(name), streams: { events: { maxLen: 1_000 } } });
      queue.on('error', () => undefined);
      this.#queues.set(name, queue);
    }
    return queue;
  }
}
