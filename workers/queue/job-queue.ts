import type { SharedConfig } from '../config.js';
import type { InferJobData } from './job-codec.js';

/** A job as a gateway (or the dead-letter requeue) hands it to the queue engine. */
export interface NewJob {
  /** Chosen by the gateway (a UUID); replies name it. */
  readonly id: string;
  readonly data: InferJobData;
  /** Lower runs first; 0 is the default and best. */
  readonly priority: number;
}

/** What Redis still holds of a job the gateway queued. */
export interface JobState {
  /** When it finished (BullMQ keeps finished jobs for a while; the streams engine deletes them). */
  readonly finishedOn?: number;
  /** It finished with answers (sent on the reply stream). */
  readonly answered: boolean;
  /** It failed for good, with this reason (failure-policy.ts's encoding). */
  readonly failedReason?: string;
}

/**
 * The gateway's side of a queue engine (QUEUE_ENGINE): add jobs, look them up, count what waits.
 * The rest of the request path (coalescing, fair release, reply stream, pending replies,
 * cancellations, partitions, worker registry) does not know which engine runs.
 */
export interface JobQueue {
  /** Resolves once Redis holds the job, with the handle lookup() and remove() take. */
  add(queue: string, job: NewJob): Promise<string>;
  /** undefined: Redis holds nothing of the job (finished and gone, or lost). */
  lookup(queue: string, jobId: string, handle: string): Promise<JobState | undefined>;
  /** Takes a job out of its queue; one a worker holds already may still run. */
  remove(queue: string, jobId: string, handle: string): Promise<void>;
  /** Jobs waiting in the queue, not yet taken by a worker. */
  waiting(queue: string): Promise<number>;
  close(): Promise<void>;
}

/** What both engines need to know of the deployment. */
export type JobQueueConfig = Pick<
  SharedConfig,
  'QUEUE_ENGINE' | 'REDIS_PREFIX' | 'JOB_ATTEMPTS' | 'RETRY_BACKOFF_MS' | 'RESULT_RETENTION_SECONDS' | 'RESULT_RETENTION_JOBS'
>;
