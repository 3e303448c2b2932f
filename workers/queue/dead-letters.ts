import { Queue } from 'bullmq';
import { ServingError } from '../protocol/errors.js';
import type { DeadLetter } from './consumer.js';
import type { JobQueue } from './job-queue.js';
import { DEAD_LETTER_QUEUE } from './queue-names.js';
import type { RedisClient } from './redis-connection.js';
import { redisKeys } from './redis-keys.js';

export interface DeadLetterEntry extends Omit<DeadLetter, 'data'> {
  readonly id: string;
  readonly model: string;
  readonly version: string;
  /** The requests the job still held when it ran out of attempts. */
  readonly requestIds: readonly string[];
}

/**
 * Jobs that used up their attempts. No worker consumes this queue: entries wait for an
 * admin to read them or send them back to their model's queue.
 */
export class DeadLetters {
  readonly #queue: Queue<DeadLetter>;
  readonly #jobs: JobQueue;

  constructor(redis: RedisClient, prefix: string, jobs: JobQueue) {
    this.#queue = new Queue<DeadLetter>(DEAD_LETTER_QUEUE, { connection: redis, prefix: redisKeys(prefix).queuePrefix(DEAD_LETTER_QUEUE) });
    this.#queue.on('error', () => undefined); // a failed command rejects; the event adds nothing
    this.#jobs = jobs;
  }

  async list(limit: number): Promise<DeadLetterEntry[]> {
    const jobs = await this.#queue.getJobs(['wait', 'prioritized'], 0, limit - 1, true);
    return jobs.map((job) => {
      const { data, ...letter } = job.data;
      const first = data.requests[0];
      return {
        id: job.id!,
        ...letter,
        model: first?.model ?? '',
        version: first?.version ?? '',
        requestIds: data.requests.map((request) => request.requestId),
      };
    });
  }

  /** Puts the job back on its queue as a new job (its original caller has been answered already). */
  async requeue(id: string): Promise<{ queue: string; jobId: string }> {
    const job = await this.#queue.getJob(id);
    if (!job) throw new ServingError('dead_letter_not_found', `no dead letter "${id}"`);
    const letter = job.data;
    const jobId = `${letter.jobId}-r${Date.now()}`;
    await this.#jobs.add(letter.queue, { id: jobId, data: letter.data, priority: 0 });
    await job.remove();
    return { queue: letter.queue, jobId };
  }

  async close(): Promise<void> {
    await this.#queue.close();
  }
}
