import { Job, Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import type { TaskDispatcher } from './task-dispatcher.js';
import type { TaskExecutor } from './task-executor.js';

const TASK_QUEUE = 'tasks';
const WAITING_STATES: ReadonlySet<string> = new Set(['waiting', 'prioritized', 'delayed', 'waiting-children']);

/** Task inputs as JSON: bytes as base64. */
type EncodedInput = { readonly bytes: string } | { readonly json: unknown };

interface TaskJob {
  readonly taskId: string;
  readonly inputs: Record<string, EncodedInput>;
}

export interface QueueTaskDispatcherOptions {
  /** Opens a durable connection (the queue's and the worker's own). */
  readonly connect: (name: string) => RedisClient;
  readonly prefix: string;
  readonly concurrency: number;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly logger: Logger;
}

/**
 * Distributed mode: asynchronous tasks are BullMQ jobs that every gateway drains. If a
 * gateway dies mid-task, its job stalls and another gateway runs the task again from
 * the start (its record counts the runs), so an accepted task is not lost. Its callback is a job
 * of its own (QueueCallbackSender).
 */
export class QueueTaskDispatcher implements TaskDispatcher {
  readonly #queue: Queue<TaskJob>;
  readonly #worker: Worker<TaskJob>;
  readonly #running = new Set<Promise<void>>();

  constructor(executor: TaskExecutor, options: QueueTaskDispatcherOptions) {
    this.#queue = new Queue<TaskJob>(TASK_QUEUE, {
      connection: options.connect('switchyard-tasks-queue'),
      prefix: redisKeys(options.prefix).queuePrefix(TASK_QUEUE),
      defaultJobOptions: {
        removeOnComplete: { count: 1000 },
        removeOnFail: { count: 1000 },
        attempts: 3,
        backoff: { type: 'exponential', delay: 1000 },
      },
    });
    this.#worker = new Worker<TaskJob>(
      TASK_QUEUE,
      async (job) => {
        // The job ends once its callback is on the callbacks queue: the delivery holds no task slot, and is not lost.
        const run = executor.run(job.data.taskId, decodeInputs(job.data.inputs)).then(({ callback }) => callback);
        this.#running.add(run);
        try {
          await run;
        } finally {
          this.#running.delete(run);
        }
      },
      {
        connection: options.connect('switchyard-tasks-worker'),
        prefix: redisKeys(options.prefix).queuePrefix(TASK_QUEUE),
        concurrency: options.concurrency,
        lockDuration: options.lockDurationMs,
        stalledInterval: options.stalledIntervalMs,
        maxStalledCount: 2,
      },
    );
    this.#queue.on('error', (error) => options.logger.warn({ err: error }, 'task queue error'));
    this.#worker.on('error', (error) => options.logger.warn({ err: error }, 'task worker error'));
    this.#worker.on('failed', (job, error) => options.logger.error({ err: error, task: job?.data.taskId }, 'task job failed'));
  }

  async submit(taskId: string, inputs: Record<string, unknown>): Promise<void> {
    await this.#queue.add('task', { taskId, inputs: encodeInputs(inputs) }, { jobId: taskId });
  }

  /**
   * Only a job still waiting: BullMQ's remove also answers 1 for a job that is not there (a
   * synchronous task never was), and never removes one a gateway has locked (that one sees
   * the cancel mark when it starts).
   */
  async withdraw(taskId: string): Promise<boolean> {
    const job = await Job.fromId<TaskJob>(this.#queue, taskId).catch(() => undefined);
    if (!job || !WAITING_STATES.has(await job.getState())) return false;
    return (await this.#queue.remove(taskId).catch(() => 0)) === 1;
  }

  /**
   * Lets the tasks in hand finish (each is bounded by its deadline), then closes without
   * waiting on Redis: BullMQ's graceful close waits for a connection that, when Redis is
   * down, never comes. A task taken in the meantime is not lost: its lock expires and
   * another gateway runs it.
   */
  async close(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
    await this.#worker.close(true);
    await this.#queue.close();
  }
}

function encodeInputs(inputs: Record<string, unknown>): Record<string, EncodedInput> {
  return Object.fromEntries(
    Object.entries(inputs).map(([name, value]) => [
      name,
      value instanceof Uint8Array ? { bytes: Buffer.from(value).toString('base64') } : { json: value },
    ]),
  );
}

function decodeInputs(inputs: Record<string, EncodedInput>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(inputs).map(([name, value]) => [name, 'bytes' in value ? Buffer.from(value.bytes, 'base64') : value.json]),
  );
}
