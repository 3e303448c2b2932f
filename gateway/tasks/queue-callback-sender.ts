import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { afterAttempt, attemptCallback, retryDelayMs, type CallbackPolicy } from './callback-delivery.js';
import { callbackBody, callbackDue, recordAttempt, settleCallback, type CallbackSender } from './callback-sender.js';
import type { TaskRecord } from './task-record.js';
import type { TaskStore } from './task-store.js';

const CALLBACK_QUEUE = 'callbacks';

interface CallbackJob {
  readonly taskId: string;
}

export interface QueueCallbackSenderOptions {
  readonly store: TaskStore;
  readonly secret: (tenant: string) => string | undefined;
  readonly policy: CallbackPolicy;
  /** Opens a durable connection (the queue's and the worker's own). */
  readonly connect: (name: string) => RedisClient;
  readonly prefix: string;
  /** CALLBACK_CONCURRENCY: attempts (connections) this gateway runs at once. */
  readonly concurrency: number;
  /** As the task queue's: a delivery whose gateway stops renewing its lock this long goes to another gateway. */
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly logger: Logger;
}

/**
 * Distributed mode: a callback is a job on a BullMQ `callbacks` queue that every gateway drains,
 * one attempt per turn: the attempt is written to the task's record, and a retry waits as a
 * delayed job, holding no connection and no slot. So a delivery outlives its gateway (stopped or
 * killed mid-attempt, its job's lock expires and another gateway makes the next attempt), and the
 * attempt count lives on the record: a delivery resumed elsewhere stops at CALLBACK_ATTEMPTS like
 * any other. Each gateway runs at most `concurrency` attempts at once; the rest wait in Redis.
 */
export class QueueCallbackSender implements CallbackSender {
  readonly #options: QueueCallbackSenderOptions;
  readonly #queue: Queue<CallbackJob>;
  readonly #worker: Worker<CallbackJob>;
  readonly #running = new Set<Promise<void>>();

  constructor(options: QueueCallbackSenderOptions) {
    this.#options = options;
    const prefix = redisKeys(options.prefix).queuePrefix(CALLBACK_QUEUE);
    this.#queue = new Queue<CallbackJob>(CALLBACK_QUEUE, {
      connection: options.connect('switchyard-callbacks-queue'),
      prefix,
      // Failures here are the store's or Redis's (an attempt that fails is a retry, not a job failure).
      defaultJobOptions: {
        removeOnComplete: true,
        removeOnFail: { count: 1000 },
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
      },
    });
    this.#worker = new Worker<CallbackJob>(
      CALLBACK_QUEUE,
      (job, token) => {
        const run = this.#attempt(job, token);
        this.#running.add(run);
        return run.finally(() => this.#running.delete(run));
      },
      {
        connection: options.connect('switchyard-callbacks-worker'),
        prefix,
        concurrency: options.concurrency,
        lockDuration: options.lockDurationMs,
        stalledInterval: options.stalledIntervalMs,
        maxStalledCount: 3,
      },
    );
    this.#queue.on('error', (error) => options.logger.warn({ err: error }, 'callback queue error'));
    this.#worker.on('error', (error) => options.logger.warn({ err: error }, 'callback worker error'));
    this.#worker.on('failed', (job, error) => options.logger.error({ err: error, task: job?.data.taskId }, 'callback job failed'));
  }

  /** The job id is the task's: a task run again after its gateway died adds no second delivery. */
  async send(record: TaskRecord): Promise<void> {
    if (!callbackDue(record)) return;
    await this.#queue.add('callback', { taskId: record.id }, { jobId: record.id });
  }

  /**
   * Takes no further job, lets the attempts in hand finish (each is bounded by
   * CALLBACK_TIMEOUT_MS), then closes without waiting on Redis. Retries not yet due stay queued
   * for any gateway.
   */
  async close(): Promise<void> {
    await this.#worker.pause(true);
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
    await this.#worker.close(true);
    await this.#queue.close();
  }

  async #attempt(job: Job<CallbackJob>, token: string | undefined): Promise<void> {
    const { store, policy, secret } = this.#options;
    const record = await store.get(job.data.taskId);
    if (!record || !callbackDue(record)) return;
    const number = record.callback.attempts.length + 1;
    if (number > policy.attempts) return settleCallback(store, record, 'failed');
    const attempt = await attemptCallback(
      { url: record.callback.url, tenant: record.tenant },
      callbackBody(record),
      secret(record.tenant) ?? '',
      number,
      policy,
    );
    await recordAttempt(store, record, attempt);
    const next = afterAttempt(attempt, policy.attempts);
    if (next !== 'retry') return settleCallback(store, record, next);
    await job.moveToDelayed(Date.now() + retryDelayMs(policy, number), token);
    throw new DelayedError();
  }
}
