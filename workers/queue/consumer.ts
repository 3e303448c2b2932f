import { Queue, UnrecoverableError, type Job, type Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { ServingMetrics } from '../metrics/serving-metrics.js';
import type { ModelManager } from '../pool/model-manager.js';
import type { ModelConfig } from '../repository/model-config.js';
import type { InferResult, ValidInferRequest } from '../protocol/inference.js';
import { LeanWorker } from './lean-worker.js';
import { decodeJob, isErrorCode, JOB_FORMAT, jobJson, type InferJobData, type ItemReply, type Reply } from './job-codec.js';
import { DEAD_LETTER_QUEUE, inferQueueNames } from './queue-names.js';
import type { RedisClient } from './redis-connection.js';
import { redisKeys, type RedisKeys } from './redis-keys.js';
import { ReplySender } from './reply-stream.js';
import { JobCancellations } from './job-cancellations.js';
import { RequestGate, versionCapacity } from './request-gate.js';
import { decodeFailure, encodeFailure, failureCode, isRetryable } from './failure-policy.js';
import { traceJobWait } from '../tracing/job-trace.js';
import { StreamWorker, type StreamJob, type StreamOutcome } from './stream-worker.js';

export interface ConsumerOptions {
  /** Recorded on each job it takes (BullMQ's processedBy), to trace a job to its worker. */
  readonly workerId: string;
  readonly manager: ModelManager;
  /** Opens a durable connection (each BullMQ Worker blocks on its own). */
  readonly connect: (name: string) => RedisClient;
  readonly prefix: string;
  /** For replies and dead letters. */
  readonly redis: RedisClient;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  /** QUEUE_ENGINE: BullMQ Workers, or the streams engine's StreamWorkers. */
  readonly engine?: 'bullmq' | 'streams';
  /** Streams engine: attempts per job and the first retry's backoff (BullMQ reads them from each job). */
  readonly attempts?: number;
  readonly backoffMs?: number;
  /** Overrides the per-version concurrency derived from the model's batch size. */
  readonly concurrency?: number;
  readonly logger: Logger;
  /** Counts the items skipped because their callers left (stage `job`). */
  readonly metrics?: ServingMetrics;
}

/** Answers to a job, in the form its gateway reads (a job of the previous format: JSON only). */
function replyOf(jobId: string, items: ItemReply[], data: InferJobData): Reply {
  return data.format === JOB_FORMAT ? { jobId, items } : { jobId, items, format: data.format };
}

/** What a finished job keeps: which items were answered on the reply stream. */
export interface JobSummary {
  readonly answered: readonly number[];
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

/** Requests that keep a worker's instances busy: every instance's batch twice over (one running, one gathering). */
export function defaultIntake(config: Pick<ModelConfig, 'max_batch_size' | 'instance_group'>): number {
  return Math.max(1, config.max_batch_size) * config.instance_group.count * 2;
}

/** A job in hand, whichever engine brought it. */
interface TakenJob {
  readonly queue: string;
  readonly id: string;
  readonly data: InferJobData;
  /** When the gateway queued it (epoch ms). */
  readonly timestamp: number;
  /** 1 for the first. */
  readonly attempt: number;
}

/** What running a job came to: answers to reply, and items worth another attempt. */
interface JobRun {
  readonly answered: ItemReply[];
  readonly retry: { item: number; error: unknown }[];
}

/** What both engines' workers are closed with. */
interface QueueWorker {
  close(): Promise<void>;
}

/**
 * Drains the queue of every loaded model version into the same ModelManager the
 * embedded mode uses. Each BullMQ Worker runs many jobs at once so that the batcher
 * sees enough requests to form batches; inference stays on instance threads, so the
 * event loop keeps renewing job locks.
 */
export class QueueConsumer {
  readonly #options: ConsumerOptions;
  /** One BullMQ Worker (or StreamWorker) per version queue. */
  readonly #workers = new Map<string, QueueWorker>();
  readonly #deadLetters: Queue;
  readonly #replies: ReplySender;
  readonly #keys: RedisKeys;
  readonly #cancellations: JobCancellations;
  /** Per version (model and version): the requests handed to its batcher at once. */
  readonly #gates = new Map<string, RequestGate>();

  constructor(options: ConsumerOptions) {
    this.#options = options;
    this.#keys = redisKeys(options.prefix);
    this.#cancellations = new JobCancellations(
      options.redis,
      options.connect('switchyard-worker-cancellations'),
      this.#keys,
      options.logger,
    );
    this.#replies = new ReplySender(options.redis);
    this.#deadLetters = new Queue(DEAD_LETTER_QUEUE, { connection: options.redis, prefix: this.#keys.queuePrefix(DEAD_LETTER_QUEUE) });
    this.#deadLetters.on('error', (error) => options.logger.warn({ err: error }, 'dead-letter queue error'));
  }

  start(): void {
    void this.sync();
  }

  /**
   * Consumes the queue of every version the manager has loaded, and stops consuming the
   * queues of versions it no longer has (poll mode loads and unloads at run time).
   */
  async sync(): Promise<void> {
    const wanted = new Set<string>();
    for (const { definition, versions } of this.#options.manager.loaded()) {
      const { config } = definition;
      // Twice what one tenant may have out (gateway/queue/fair-release.ts): a flooding tenant's jobs
      // never take every slot, so another tenant's job reaches the batcher, which serves tenants in
      // turn; shared among the version's queue partitions.
      const perVersion = this.#options.concurrency ?? 2 * defaultIntake(config);
      const concurrency = Math.max(1, Math.ceil(perVersion / config.queue_partitions));
      for (const queue of versions.flatMap((version) => inferQueueNames(definition.name, version, config.queue_partitions))) {
        wanted.add(queue);
        if (this.#workers.has(queue)) continue;
        const worker = this.#options.engine === 'streams' ? this.#streamWorker(queue, concurrency) : this.#bullmqWorker(queue, concurrency);
        this.#workers.set(queue, worker);
        this.#options.logger.info({ queue, concurrency }, 'consuming');
      }
    }
    const gone = [...this.#workers].filter(([queue]) => !wanted.has(queue));
    for (const [queue] of gone) this.#workers.delete(queue);
    await Promise.all(
      gone.map(async ([queue, worker]) => {
        await worker.close();
        this.#options.logger.info({ queue }, 'stopped consuming');
      }),
    );
  }

  #bullmqWorker(queue: string, concurrency: number): Worker {
    const options = {
      connection: this.#options.connect(`switchyard-worker-${queue}`),
      prefix: this.#keys.queuePrefix(queue),
      name: this.#options.workerId,
      concurrency,
      lockDuration: this.#options.lockDurationMs,
      stalledInterval: this.#options.stalledIntervalMs,
      // A job whose worker died twice is failed rather than passed on for ever.
      maxStalledCount: 2,
    };
    const worker = new LeanWorker<InferJobData, JobSummary>(
      queue,
      (job) => this.#processBullmq(job),
      options,
      this.#options.redis,
      this.#keys.waiting(queue),
    );
    worker.on('failed', (job, error) => {
      if (job)
        this.#onFailed(queue, job, error).catch((failure: unknown) =>
          this.#options.logger.error({ err: failure }, 'failure handling failed'),
        );
    });
    worker.on('error', (error) => this.#options.logger.warn({ err: error, queue }, 'queue worker error'));
    return worker;
  }

  #streamWorker(queue: string, concurrency: number): StreamWorker {
    const worker = new StreamWorker({
      queue,
      redis: this.#options.redis,
      blocking: this.#options.connect(`switchyard-worker-${queue}`),
      keys: this.#keys,
      consumer: this.#options.workerId,
      concurrency,
      lockDurationMs: this.#options.lockDurationMs,
      stalledIntervalMs: this.#options.stalledIntervalMs,
      attempts: this.#options.attempts ?? 3,
      backoffMs: this.#options.backoffMs ?? 200,
      replies: this.#replies,
      logger: this.#options.logger,
      process: (job) => this.#processStream(job),
      exhausted: (job, reason) => this.#exhausted(queue, job.jobId, job.data, reason, job.attempt),
    });
    worker.start();
    return worker;
  }

  /** Stops taking jobs and waits for those in hand to finish. */
  async close(): Promise<void> {
    await Promise.all([...this.#workers.values()].map((worker) => worker.close()));
    await this.#deadLetters.close();
    await this.#cancellations.close();
  }

  /**
   * BullMQ: answers go out at once; if some failed in a way worth retrying, the job is
   * narrowed to those and thrown, so BullMQ retries only them.
   */
  async #processBullmq(job: Job<InferJobData, JobSummary>): Promise<JobSummary> {
    const run = await this.#run({
      queue: job.queueName,
      id: job.id!,
      data: job.data,
      timestamp: job.timestamp,
      attempt: job.attemptsMade + 1,
    });
    if (run.answered.length > 0) await this.#replies.send(this.#keys.replies(job.data.replyTo), replyOf(job.id!, run.answered, job.data));
    // Answers travel once, on the reply stream; the job keeps only a summary (BullMQ would
    // otherwise copy them into the job hash and the events stream too).
    if (run.retry.length === 0) return { answered: run.answered.map((answer) => answer.item) };
    const remaining = new Set(run.retry.map((entry) => entry.item));
    await job.updateData({ ...job.data, requests: job.data.requests.filter((request) => remaining.has(request.item)) });
    throw new Error(retryReason(run));
  }

  /** Streams: the answers are written with the job's finish (stream-worker.ts), which also retries or dead-letters. */
  async #processStream(job: StreamJob): Promise<StreamOutcome> {
    const run = await this.#run({ queue: job.queue, id: job.jobId, data: job.data, timestamp: job.addedAt, attempt: job.attempt });
    const reply =
      run.answered.length > 0
        ? { key: this.#keys.replies(job.data.replyTo), reply: replyOf(job.jobId, run.answered, job.data) }
        : undefined;
    return {
      ...(reply ? { reply } : {}),
      ...(run.retry.length > 0 ? { retry: { items: run.retry.map((entry) => entry.item), reason: retryReason(run) } } : {}),
    };
  }

  #gate(request: ValidInferRequest): RequestGate | undefined {
    const key = `${request.model}\u0000${request.version}`;
    let gate = this.#gates.get(key);
    if (!gate) {
      const config = this.#options.manager.definition(request.model)?.config;
      if (!config) return undefined;
      gate = new RequestGate(versionCapacity(config));
      this.#gates.set(key, gate);
    }
    return gate;
  }

  /** Runs every request of the job at once, so they reach the batcher together. */
  async #run(job: TakenJob): Promise<JobRun> {
    const decoded = decodeJob(job.data);
    // Time spent waiting in Redis counts as queue time too (clocks are assumed NTP-synced).
    const redisWaitMs = Math.max(0, Date.now() - job.timestamp);
    const { signals, cancelled } = await this.#cancellations.begin(
      job.queue,
      job.id,
      decoded.requests.map(({ item }) => item),
      job.timestamp,
    );
    // Items whose callers left before the job started are skipped: nobody waits for them.
    const requests = decoded.requests.filter(({ item }) => !cancelled.has(item));
    traceJobWait(job.queue, job.id, job.timestamp, job.attempt, requests);
    for (const { request } of decoded.requests.filter(({ item }) => cancelled.has(item)))
      this.#options.metrics?.cancelled(request.model, request.version, 'job');
    let settled: PromiseSettledResult<InferResult>[];
    const gate = requests.length > 0 ? this.#gate(requests[0]!.request) : undefined;
    try {
      let room = gate ? await gate.take(requests.length) : requests.length;
      settled = await Promise.allSettled(
        requests.map(({ item, request }) =>
          this.#options.manager.infer({ ...request, group: job.id }, signals.get(item)).finally(() => {
            if (room > 0) {
              room -= 1;
              gate?.give(1);
            }
          }),
        ),
      );
    } finally {
      this.#cancellations.end(job.id);
    }
    const answered: ItemReply[] = [];
    const retry: { item: number; error: unknown }[] = [];
    settled.forEach((outcome, index) => {
      const item = requests[index]!.item;
      if (outcome.status === 'rejected' && failureCode(outcome.reason) === 'client_cancelled') return; // nobody waits for it
      if (outcome.status === 'fulfilled') {
        const served = outcome.value;
        answered.push({
          item,
          ok: true,
          result: { ...served, timings: { ...served.timings, queueMs: served.timings.queueMs + redisWaitMs } },
        });
      } else if (isRetryable(outcome.reason)) {
        retry.push({ item, error: outcome.reason });
      } else {
        answered.push({ item, ok: false, code: failureCode(outcome.reason), message: (outcome.reason as Error).message });
      }
    });
    if (this.#options.logger.isLevelEnabled('info')) this.#logServed(job.id, requests, settled, redisWaitMs);
    return { answered, retry };
  }

  /** One line per request, carrying the gateway's traceparent, so a trace can be followed into the worker. */
  #logServed(
    jobId: string,
    requests: readonly { request: ValidInferRequest }[],
    settled: readonly PromiseSettledResult<InferResult>[],
    redisWaitMs: number,
  ): void {
    settled.forEach((outcome, index) => {
      const { request } = requests[index]!;
      this.#options.logger.info(
        {
          requestId: request.requestId,
          ...(request.traceparent !== undefined ? { traceparent: request.traceparent, traceId: request.traceparent.split('-')[1] } : {}),
          jobId,
          model: request.model,
          version: request.version,
          ...(outcome.status === 'fulfilled'
            ? {
                queueMs: outcome.value.timings.queueMs + redisWaitMs,
                computeMs: outcome.value.timings.computeMs,
                batchSize: outcome.value.timings.batchSize,
                outcome: 'ok',
              }
            : { outcome: failureCode(outcome.reason) }),
        },
        'inference',
      );
    });
  }

  /** BullMQ, on the last failure: answer the waiting gateway, and keep exhausted jobs as dead letters. */
  async #onFailed(queue: string, job: Job<InferJobData>, error: Error): Promise<void> {
    const unrecoverable = error instanceof UnrecoverableError || error.name === 'UnrecoverableError';
    const exhausted = job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!unrecoverable && !exhausted) return;
    if (unrecoverable) await this.#answerFailure(job.id!, job.data, error.message);
    else await this.#exhausted(queue, job.id!, job.data, error.message, job.attemptsMade);
  }

  /** Out of attempts: dead-lettered before its callers are answered, so whoever reads the answer also finds the letter. */
  async #exhausted(queue: string, jobId: string, data: InferJobData, reason: string, attemptsMade: number): Promise<void> {
    const letter: DeadLetter = { queue, jobId, data: jobJson(data), failedReason: reason, attemptsMade, failedAt: Date.now() };
    await this.#deadLetters.add('dead-letter', letter, { jobId: `${queue}.${jobId}` });
    this.#options.logger.error({ queue, jobId, attempts: attemptsMade, reason }, 'job dead-lettered');
    await this.#answerFailure(jobId, data, reason);
  }

  async #answerFailure(jobId: string, data: InferJobData, reason: string): Promise<void> {
    const decoded = decodeFailure(reason);
    const code = decoded.code && isErrorCode(decoded.code) ? decoded.code : 'inference_failed';
    const items = (data.requests ?? []).map((request) => ({ item: request.item, ok: false as const, code, message: decoded.message }));
    if (items.length > 0) await this.#replies.send(this.#keys.replies(data.replyTo), replyOf(jobId, items, data));
  }
}

/** The first retryable failure, encoded: what the job fails with if it runs out of attempts. */
function retryReason(run: JobRun): string {
  const first = run.retry[0]!.error;
  return encodeFailure(failureCode(first), (first as Error).message);
}
