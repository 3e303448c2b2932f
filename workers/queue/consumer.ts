import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ModelManager } from '../pool/model-manager.js';
import { decodeJob, encodeResult, isErrorCode, type EncodedResult, type InferJobData } from './job-codec.js';
import { DEAD_LETTER_QUEUE, inferQueueName, replyStreamKey } from './queue-names.js';
import { durableConnection } from './redis-connection.js';
import { sendReply } from './reply-stream.js';
import { decodeFailure, encodeFailure, failureCode, isRetryable } from './failure-policy.js';

export interface ConsumerOptions {
  /** Recorded on each job it takes (BullMQ's processedBy), to trace a job to its worker. */
  readonly workerId: string;
  readonly manager: ModelManager;
  readonly redisUrl: string;
  readonly prefix: string;
  /** For replies and dead letters. */
  readonly redis: Redis;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  /** Overrides the per-version concurrency derived from the model's batch size. */
  readonly concurrency?: number;
  readonly logger: Logger;
}

/** A dead letter: a job that used up its attempts, kept for an admin to inspect or requeue. */
export interface DeadLetter {
  readonly queue: string;
  readonly jobId: string;
  readonly data: InferJobData;
  readonly failedReason: string;
  readonly attemptsMade: number;
  readonly failedAt: number;
}

/**
 * Drains the queue of every loaded model version into the same ModelManager the
 * embedded mode uses. Each BullMQ Worker runs many jobs at once so that the batcher
 * sees enough requests to form batches; inference stays on instance threads, so the
 * event loop keeps renewing job locks.
 */
export class QueueConsumer {
  readonly #options: ConsumerOptions;
  readonly #workers: Worker[] = [];
  readonly #deadLetters: Queue;

  constructor(options: ConsumerOptions) {
    this.#options = options;
    this.#deadLetters = new Queue(DEAD_LETTER_QUEUE, { connection: options.redis, prefix: options.prefix });
    this.#deadLetters.on('error', (error) => options.logger.warn({ err: error }, 'dead-letter queue error'));
  }

  start(): void {
    for (const { definition, versions } of this.#options.manager.loaded()) {
      const { config } = definition;
      // Enough jobs in hand to fill every instance's batch twice over.
      const concurrency = this.#options.concurrency ?? Math.max(1, config.max_batch_size) * config.instance_group.count * 2;
      for (const version of versions) {
        const queue = inferQueueName(definition.name, version);
        const worker = new Worker<InferJobData, EncodedResult>(queue, (job) => this.#process(job), {
          connection: durableConnection(this.#options.redisUrl, `switchyard-worker-${queue}`),
          prefix: this.#options.prefix,
          name: this.#options.workerId,
          concurrency,
          lockDuration: this.#options.lockDurationMs,
          stalledInterval: this.#options.stalledIntervalMs,
          // A job whose worker died twice is failed rather than passed on for ever.
          maxStalledCount: 2,
        });
        worker.on('failed', (job, error) => {
          if (job) this.#onFailed(queue, job, error).catch((failure: unknown) => this.#options.logger.error({ err: failure }, 'failure handling failed'));
        });
        worker.on('error', (error) => this.#options.logger.warn({ err: error, queue }, 'queue worker error'));
        this.#workers.push(worker);
        this.#options.logger.info({ queue, concurrency }, 'consuming');
      }
    }
  }

  /** Stops taking jobs and waits for those in hand to finish. */
  async close(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.close()));
    await this.#deadLetters.close();
  }

  async #process(job: Job<InferJobData, EncodedResult>): Promise<EncodedResult> {
    const { request, replyTo } = decodeJob(job.data);
    // Time spent waiting in Redis counts as queue time too (clocks are assumed NTP-synced).
    const redisWaitMs = Math.max(0, Date.now() - job.timestamp);
    let result: EncodedResult;
    try {
      const served = await this.#options.manager.infer(request);
      result = encodeResult({ ...served, timings: { ...served.timings, queueMs: served.timings.queueMs + redisWaitMs } });
    } catch (error) {
      const message = encodeFailure(failureCode(error), (error as Error).message);
      if (!isRetryable(error)) throw new UnrecoverableError(message);
      throw new Error(message);
    }
    await sendReply(this.#options.redis, replyStreamKey(this.#options.prefix, replyTo), { jobId: job.id!, ok: true, result });
    return result;
  }

  /** On the last failure: answer the waiting gateway, and keep exhausted jobs as dead letters. */
  async #onFailed(queue: string, job: Job<InferJobData>, error: Error): Promise<void> {
    const unrecoverable = error instanceof UnrecoverableError || error.name === 'UnrecoverableError';
    const exhausted = job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!unrecoverable && !exhausted) return;
    const decoded = decodeFailure(error.message);
    const code = decoded.code && isErrorCode(decoded.code) ? decoded.code : 'inference_failed';
    await sendReply(this.#options.redis, replyStreamKey(this.#options.prefix, job.data.replyTo), {
      jobId: job.id!,
      ok: false,
      code,
      message: decoded.message,
    });
    if (!unrecoverable) {
      const letter: DeadLetter = { queue, jobId: job.id!, data: job.data, failedReason: error.message, attemptsMade: job.attemptsMade, failedAt: Date.now() };
      await this.#deadLetters.add('dead-letter', letter, { jobId: `${queue}.${job.id!}` });
      this.#options.logger.error({ queue, jobId: job.id, attempts: job.attemptsMade, reason: error.message }, 'job dead-lettered');
    }
  }
}
