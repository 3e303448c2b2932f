import { BullmqJobQueue } from './bullmq-job-queue.js';
import type { JobQueue, JobQueueConfig } from './job-queue.js';
import type { RedisClient } from './redis-connection.js';
import { StreamJobQueue } from './stream-job-queue.js';

/** The gateway's side of the engine QUEUE_ENGINE names. */
export function createJobQueue(redis: RedisClient, config: JobQueueConfig): JobQueue {
  return config.QUEUE_ENGINE === 'streams' ? new StreamJobQueue(redis, config) : new BullmqJobQueue(redis, config);
}
