import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { SharedConfig } from '../../workers/config.js';
import type { RepositoryIndexEntry } from '../../workers/pool/model-manager.js';
import { ModelState } from '../../workers/pool/model-state.js';
import type { VersionStatistics } from '../../workers/pool/statistics.js';
import { ServingError } from '../../workers/protocol/errors.js';
import type { InferResult, ValidInferRequest } from '../../workers/protocol/inference.js';
import type { ModelDefinition } from '../../workers/repository/load-repository.js';
import { loadRepository, readModelDefinition } from '../../workers/repository/load-repository.js';
import { clientSafeMessage } from '../../workers/repository/client-safe-message.js';
import { servedVersions } from '../../workers/repository/model-config.js';
import { DeadLetters } from '../../workers/queue/dead-letters.js';
import { decodeFailure } from '../../workers/queue/failure-policy.js';
import { defaultIntake } from '../../workers/queue/consumer.js';
import { encodeJob, isErrorCode } from '../../workers/queue/job-codec.js';
import type { JobQueue } from '../../workers/queue/job-queue.js';
import { createJobQueue } from '../../workers/queue/job-queues.js';
import { ColdStarts } from './cold-starts.js';
import { FairRelease } from './fair-release.js';
import { JobCoalescer, type JobGroup } from './job-coalescer.js';
import { inferQueueName, inferQueueNames } from '../../workers/queue/queue-names.js';
import { redisConnection, whenReady, type RedisClient } from '../../workers/queue/redis-connection.js';
import { settledWithin } from '../../workers/queue/settled-within.js';
import { redisKeys, type RedisKeys } from '../../workers/queue/redis-keys.js';
import { ReplyReader } from '../../workers/queue/reply-stream.js';
import { markCancelled } from '../../workers/queue/job-cancellations.js';
import { MISSED_BEATS } from '../../workers/queue/heartbeat.js';
import { WorkerRegistry } from '../../workers/queue/worker-registry.js';
import type { ServingBackend } from '../serving-backend.js';
import { PartitionPicker } from './partition-picker.js';
import { PendingReplies } from './pending-replies.js';
import { Cancellations } from './cancellations.js';

/** Replies unseen for this long are looked up on the job itself. */
const FALLBACK_AFTER_MS = 2_000;
/** A finished job whose reply has not been read after this long lost its reply. */
const REPLY_LOST_AFTER_MS = 10_000;
/**
 * Longest a group gathers at the gateway. The worker's batcher may wait max_queue_delay_ms
 * again, so a model with a long delay (a GPU model waiting for big batches) would otherwise
 * pay it twice; windows of 2, 4 and 8 ms measured the same throughput on the demo MLP.
 */
const MAX_GATHER_MS = 5;
/**
 * States with no warm worker in which requests still queue: none announces the version (a pool
 * scaled to zero, or not started yet), or one is warming it. Every worker FAILED (or UNLOADING)
 * is refused at once: waiting would not bring a worker.
 */
const COLD_STATES: ReadonlySet<ModelState> = new Set([ModelState.UNAVAILABLE, ModelState.LOADING]);

/**
 * Distributed mode: requests go onto per-version queues (BullMQ or Redis Streams, QUEUE_ENGINE); answers come back on
 * this gateway's own reply stream. Readiness and backlog come from worker heartbeats.
 */
/** A job's add that failed or never settled: it may have landed with its answer lost, so "was not queued" would not be sure. */
export const QUEUEING_FAILED = 'Redis did not confirm that the request was queued (unreachable or refusing writes); it was given up';

export class QueueBackend implements ServingBackend {
  readonly gatewayId = randomUUID();
  readonly deadLetters: DeadLetters;
  readonly #config: SharedConfig;
  readonly #logger: Logger;
  readonly #definitions: Map<string, ModelDefinition>;
  /** Poll mode: models whose changed config did not read, with why. */
  readonly #definitionFailures: Map<string, string>;
  readonly #redis: RedisClient;
  readonly #replyConnection: RedisClient;
  readonly #keys: RedisKeys;
  /** The queue engine's gateway side: adds jobs, looks them up. */
  readonly #jobs: JobQueue;
  readonly #pending = new PendingReplies((jobId, queue, expired) => this.#jobAnswered(jobId, queue, expired));
  /** The queue each unanswered job went to (one of its version's partitions); absent: not placed yet. */
  readonly #placed = new Map<string, string>();
  readonly #partitions = new PartitionPicker();
  /** Jobs sent and not yet fully answered, per queue: while any are out, the workers are busy. */
  readonly #jobsOut = new Map<string, Set<string>>();
  /** Jobs Redis confirmed it holds, not yet answered (only these can be lost by Redis), with the engine's handle. */
  readonly #queued = new Map<string, string>();
  /** Queued jobs a lookup found missing from Redis, with when it looked. */
  readonly #missing = new Map<string, number>();
  readonly #registry: WorkerRegistry;
  readonly #reader: ReplyReader;
  /** Jobs this gateway added since the registry last counted the backlog. */
  #addedSincePoll = new Map<string, number>();
  /** Requests this gateway queued and still waits for, per queue. */
  readonly #pendingByQueue = new Map<string, number>();
  /** Jobs beyond what the workers take at once wait here, released tenants in turn. */
  readonly #release = new FairRelease((group) => this.#enqueue(group));
  /** The version each queue serves, for its workers' intake. */
  readonly #queueVersions = new Map<string, { model: string; version: string }>();
  readonly #coalescer = new JobCoalescer(
    (group) => this.#offer(group),
    (queue) => (this.#jobsOut.get(queue)?.size ?? 0) > 0,
  );
  #sweeper: NodeJS.Timeout | undefined;
  readonly coldStarts: ColdStarts;
  /** Requests whose callers left, for switchyard_cancelled_requests_total (gathering here; job is counted by the worker that skips it). */
  readonly cancellations = new Cancellations();
  /** Cold jobs with a request that gave up waiting for a worker: removed from the queue once settled. */
  readonly #expiredCold = new Set<string>();

  private constructor(config: SharedConfig, definitions: ModelDefinition[], logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    this.#definitions = new Map(definitions.map((d) => [d.name, d]));
    // A worker that answered may not have beaten READY yet: the registry's liveness window.
    this.coldStarts = new ColdStarts(config.HEARTBEAT_MS * MISSED_BEATS);
    this.#definitionFailures = new Map();
    this.#keys = redisKeys(config.REDIS_PREFIX);
    this.#redis = redisConnection(config, 'serving', `switchyard-gateway-${this.gatewayId}`);
    this.#replyConnection = redisConnection(config, 'durable', `switchyard-gateway-replies-${this.gatewayId}`);
    this.#jobs = createJobQueue(this.#redis, config);
    this.#registry = new WorkerRegistry({
      redis: this.#redis,
      prefix: config.REDIS_PREFIX,
      periodMs: config.HEARTBEAT_MS,
      logger,
      versions: () => this.#servedPairs(),
      waiting: (queue) => this.#jobs.waiting(queue),
      onPolled: () => {
        this.#addedSincePoll = new Map();
        // Workers may have joined: held jobs can go.
        for (const queue of this.#release.queues()) this.#releaseHeld(queue);
      },
    });
    this.#reader = new ReplyReader(
      this.#replyConnection,
      this.#keys.replies(this.gatewayId),
      (reply) => this.#pending.deliver(reply),
      logger,
    );
    this.#reader.onRecovered = () => void this.#fallbackLookup(0);
    this.deadLetters = new DeadLetters(this.#redis, config.REDIS_PREFIX, this.#jobs);
  }

  static async start(config: SharedConfig, logger: Logger): Promise<QueueBackend> {
    const all = await loadRepository(config.MODEL_REPOSITORY);
    const definitions = config.LOAD_MODELS ? all.filter((d) => config.LOAD_MODELS!.includes(d.name)) : all;
    const backend = new QueueBackend(config, definitions, logger);
    // The serving connection refuses commands until connected (it fails fast by design):
    // let it connect before the first poll, so a healthy Redis is not reported as down.
    await whenReady(backend.#redis, 5_000);
    backend.#reader.start();
    await backend.#registry.poll();
    backend.#registry.start();
    backend.#sweeper = setInterval(() => void backend.#fallbackLookup(FALLBACK_AFTER_MS), FALLBACK_AFTER_MS);
    return backend;
  }

  definition(name: string): ModelDefinition | undefined {
    return this.#definitions.get(name);
  }

  /**
   * MODEL_CONTROL=poll: routes by the model's config as it now reads (workers load it on their
   * side); a config that does not read keeps the previous one, and the index shows why.
   */
  async refreshDefinition(name: string): Promise<void> {
    try {
      this.#definitions.set(name, await readModelDefinition(this.#config.MODEL_REPOSITORY, name));
      this.#definitionFailures.delete(name);
    } catch (error) {
      this.#definitionFailures.set(name, clientSafeMessage((error as Error).message, this.#config.MODEL_REPOSITORY));
      throw error;
    }
  }

  /** MODEL_CONTROL=poll: the model left the repository; true when it was routed. */
  async forgetDefinition(name: string): Promise<boolean> {
    this.#definitionFailures.delete(name);
    return this.#definitions.delete(name);
  }

  versionState(name: string, version: string): ModelState | undefined {
    const definition = this.#definitions.get(name);
    if (!definition || !servedVersions(definition.config).includes(version)) return undefined;
    return this.#registry.state(name, version);
  }

  /**
   * Ready when requests can be queued: Redis answers (the repository was loaded at start). Not
   * whether a worker is warm: a pool scaled to zero starts on queued work, so the gateways must
   * take it; per-model readiness tells whether a version has a warm worker.
   */
  isReady(): boolean {
    return this.#registry.reachable;
  }

  storeReachable(): boolean {
    return this.#registry.reachable;
  }

  async infer(request: ValidInferRequest, signal?: AbortSignal): Promise<InferResult> {
    if (signal?.aborted)
      throw new ServingError('client_cancelled', `request ${request.requestId} was cancelled by its caller before it was queued`);
    if (!this.#registry.reachable) throw new ServingError('backend_unavailable', 'Redis cannot be reached; the request was not queued');
    const state = this.#registry.state(request.model, request.version);
    const cold = COLD_STATES.has(state);
    if (state !== ModelState.READY && !cold) {
      throw new ServingError('model_not_ready', `no live worker has ${request.model}:${request.version} ready (${state.toLowerCase()})`);
    }
    const queueName = inferQueueName(request.model, request.version);
    const config = this.#definitions.get(request.model)!.config;
    if (cold) return this.#inferCold(request, queueName, config.cold_start.max_wait_ms, signal);
    return this.#send(request, queueName, signal);
  }

  /**
   * No live worker has the version warm: queue the request anyway (the queue's depth is what
   * starts a pool scaled to zero) and let it wait up to max_wait_ms. The job carries that shorter
   * deadline, so a worker that starts later expires it unrun; the job is also removed once
   * settled, and a late reply finds no waiter and is dropped.
   */
  async #inferCold(
    request: ValidInferRequest,
    queueName: string,
    maxWaitMs: number,
    signal: AbortSignal | undefined,
  ): Promise<InferResult> {
    const coldDeadline = Date.now() + maxWaitMs;
    if (coldDeadline >= request.deadline) return this.#trackCold(request, queueName, this.#send(request, queueName, signal));
    let jobId = '';
    const timedOut = (): Error => {
      this.#expiredCold.add(jobId);
      const message = `no worker for ${request.model}:${request.version} started within cold_start.max_wait_ms (${maxWaitMs} ms)`;
      return new ServingError('model_not_ready', message);
    };
    const answer = this.#send({ ...request, deadline: coldDeadline }, queueName, signal, timedOut, (id) => {
      jobId = id;
    });
    return this.#trackCold(request, queueName, answer);
  }

  async #trackCold(request: ValidInferRequest, queueName: string, answer: Promise<InferResult>): Promise<InferResult> {
    const period = this.coldStarts.queued(queueName, request.model, request.version);
    let answered = false;
    try {
      const result = await answer;
      answered = true;
      return result;
    } finally {
      this.coldStarts.settled(queueName, period, answered);
    }
  }

  async #send(
    request: ValidInferRequest,
    queueName: string,
    signal?: AbortSignal,
    timedOut?: () => Error,
    onJob?: (jobId: string) => void,
  ): Promise<InferResult> {
    const config = this.#definitions.get(request.model)!.config;
    // Queue depth in requests: what the workers have not taken yet (in jobs, at the last
    // beat) plus what this gateway queued since, or what it still waits for, if more.
    const added = this.#addedSincePoll.get(queueName) ?? 0;
    const depth = Math.max(this.#registry.backlog(request.model, request.version) + added, this.#pendingByQueue.get(queueName) ?? 0);
    if (depth >= config.dynamic_batching.max_queue_size) {
      throw new ServingError(
        'queue_full',
        `the queue of ${request.model}:${request.version} holds ${config.dynamic_batching.max_queue_size} requests`,
      );
    }
    const { group, item } = this.#coalescer.add(queueName, request, {
      maxItems: Math.max(1, config.max_batch_size),
      windowMs: Math.min(config.dynamic_batching.max_queue_delay_ms, MAX_GATHER_MS),
    });
    if (item === 0) this.#addedSincePoll.set(queueName, added + 1);
    onJob?.(group.jobId);
    const placed = this.#place(group.jobId, request.model, request.version);
    this.#pendingByQueue.set(queueName, (this.#pendingByQueue.get(queueName) ?? 0) + 1);
    const onAbort = (): void => this.#cancel(group, item, request);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.#pending.wait(group.jobId, item, placed, request.deadline, request.requestId, timedOut);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#pendingByQueue.set(queueName, (this.#pendingByQueue.get(queueName) ?? 1) - 1);
    }
  }

  /**
   * The queue a job goes to: one of its version's partitions, chosen once, by whichever of
   * sending and waiting comes first (a full group is sent before its first request waits).
   */
  #place(jobId: string, model: string, version: string): string {
    let queue = this.#placed.get(jobId);
    if (queue === undefined) {
      const partitions = this.#definitions.get(model)?.config.queue_partitions ?? 1;
      this.#placed.set(jobId, (queue = this.#partitions.pick(inferQueueNames(model, version, partitions))));
    }
    return queue;
  }

  /**
   * The caller left: still gathering, the request leaves its group unsent; queued as a job,
   * it is marked cancelled in Redis, and the worker skips it (or drops its rows if running).
   * Either way its waiter is answered now.
   */
  #cancel(group: JobGroup, item: number, request: ValidInferRequest): void {
    // Gathering in the coalescer, or held for fair release: either way not sent yet.
    if (this.#coalescer.withdraw(group, item) || this.#release.withdraw(group, item))
      this.cancellations.count(request.model, request.version, 'gathering');
    else {
      markCancelled(
        this.#redis,
        this.#keys,
        this.#place(group.jobId, request.model, request.version),
        group.jobId,
        item,
        request.deadline,
      ).catch((error: unknown) => {
        this.#logger.warn({ err: error, jobId: group.jobId }, 'could not mark a cancelled request; the worker will run it');
      });
    }
    this.#pending.fail(
      group.jobId,
      item,
      new ServingError('client_cancelled', `request ${request.requestId} was cancelled by its caller before it was answered`),
    );
  }

  /**
   * Requests the version's ready workers should hold at once: per worker, two batches for
   * each instance (one running, one gathering; consumer.ts's default) or its WORKER_CONCURRENCY.
   * 0 with none ready.
   */
  #intake(queue: string): number {
    const target = this.#queueVersions.get(queue);
    const definition = target && this.#definitions.get(target.model);
    if (!target || !definition) return 0;
    return this.#registry.intake(target.model, target.version, defaultIntake(definition.config));
  }

  /** A group is sent, or held until the workers have room for it (fair-release.ts). */
  #offer(group: JobGroup): void {
    const first = group.requests[0]!;
    this.#queueVersions.set(group.queue, { model: first.model, version: first.version });
    this.#release.offer(group, this.#intake(group.queue));
  }

  #releaseHeld(queue: string): void {
    this.#release.release(queue, this.#intake(queue));
  }

  /** Sends one coalesced group as one job. */
  #enqueue(group: JobGroup): void {
    let out = this.#jobsOut.get(group.queue);
    if (!out) this.#jobsOut.set(group.queue, (out = new Set()));
    out.add(group.jobId);
    const first = group.requests[0]!;
    const added = this.#jobs.add(this.#place(group.jobId, first.model, first.version), {
      id: group.jobId,
      data: encodeJob(group.requests, this.gatewayId, group.withdrawn),
      priority: group.priority,
    });
    // Bounded on a Cluster (settledWithin): an add never confirmed is never looked up as lost, so its
    // callers (an async task's step, with a minute's deadline) would wait their whole deadline.
    settledWithin(this.#redis, added)
      .then((handle) => {
        if (this.#placed.has(group.jobId)) this.#queued.set(group.jobId, handle);
      })
      .catch((error: unknown) => {
        // The client library's words (its option names) stay in the log.
        this.#logger.warn({ err: error, jobId: group.jobId }, 'queueing a job failed');
        this.#pending.failJob(group.jobId, new ServingError('backend_unavailable', QUEUEING_FAILED));
      });
  }

  /** The last job out for a queue is answered: a group gathering for it need not wait out its window. */
  #jobAnswered(jobId: string, placed: string, expired = false): void {
    const handle = this.#queued.get(jobId);
    this.#placed.delete(jobId);
    this.#queued.delete(jobId);
    this.#missing.delete(jobId);
    if ((this.#expiredCold.delete(jobId) || expired) && handle !== undefined) {
      // Nobody waits for it (its requests ran out of time, or were cancelled): locked by a worker
      // already, it stays (its reply is dropped); waiting, it leaves the queue and its depth unrun.
      void this.#jobs.remove(placed, jobId, handle).catch(() => undefined);
    }
    const queue = this.#partitions.versionQueue(placed);
    this.#release.done(queue, jobId, this.#intake(queue));
    const out = this.#jobsOut.get(queue);
    if (!out?.delete(jobId) || out.size > 0) return;
    this.#coalescer.queueIdle(queue);
  }

  async index(): Promise<RepositoryIndexEntry[]> {
    return this.#servedPairs().map(({ model, version }) => {
      const providers = this.#registry.providers(model, version);
      const failure = this.#definitionFailures.get(model);
      const reason = failure ? `config change refused, previous config serving: ${failure}` : '';
      return { name: model, version, state: this.#registry.state(model, version), reason, ...(providers.length > 0 ? { providers } : {}) };
    });
  }

  providers(name: string, version: string): readonly string[] {
    return this.#registry.providers(name, version);
  }

  /** Requests waiting in each version's queue in Redis at the last registry poll. */
  backlog(): { model: string; version: string; waiting: number }[] {
    return this.#servedPairs().map(({ model, version }) => ({ model, version, waiting: this.#registry.backlog(model, version) }));
  }

  /** Requests waiting per version queue at the last registry poll, for the queue_depth gauge. */
  queueDepths(): { queue: string; depth: number }[] {
    return this.#servedPairs().map(({ model, version }) => ({
      queue: inferQueueName(model, version),
      depth: this.#registry.backlog(model, version),
    }));
  }

  async load(): Promise<void> {
    throw new ServingError(
      'not_in_this_mode',
      'in distributed mode, worker pools load models (LOAD_MODELS); scale or restart a pool instead',
    );
  }

  async unload(): Promise<void> {
    throw new ServingError(
      'not_in_this_mode',
      'in distributed mode, worker pools load models (LOAD_MODELS); scale or restart a pool instead',
    );
  }

  statistics(name?: string, version?: string): VersionStatistics[] {
    return this.#registry
      .statistics()
      .filter((s) => (name === undefined || s.name === name) && (version === undefined || s.version === version));
  }

  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#registry.stop();
    await this.#reader.stop();
    await this.deadLetters.close();
    await this.#jobs.close();
    await this.#redis.quit().catch(() => undefined);
  }

  #servedPairs(): { model: string; version: string; partitions: number }[] {
    return [...this.#definitions.values()].flatMap((d) =>
      servedVersions(d.config).map((version) => ({ model: d.name, version, partitions: d.config.queue_partitions })),
    );
  }

  /** Looks up, on the jobs themselves, answers whose reply has not arrived (a reply stream that was cut or trimmed). */
  async #fallbackLookup(ageMs: number): Promise<void> {
    for (const { jobId, queue } of this.#pending.older(ageMs, 200)) {
      // Not confirmed by Redis yet (or held for fair release): nothing to look up.
      const handle = this.#queued.get(jobId);
      if (handle === undefined) continue;
      try {
        const job = await this.#jobs.lookup(queue, jobId, handle);
        if (!job) {
          this.#judgeMissing(jobId);
          continue;
        }
        this.#missing.delete(jobId);
        if (job.finishedOn && job.answered) {
          // Answered on the reply stream long ago, yet never read here (the reader resumes where
          // it left off, so this means the entry was trimmed or expired first). Say so rather
          // than wait for the deadline.
          if (Date.now() - job.finishedOn < REPLY_LOST_AFTER_MS) continue;
          const lost = new ServingError(
            'inference_failed',
            'the answer was computed but its reply was lost (reply stream trimmed); retry the request',
          );
          this.#pending.failJob(jobId, lost);
        } else if (job.finishedOn && job.failedReason) {
          const { code, message } = decodeFailure(job.failedReason);
          this.#pending.failJob(jobId, new ServingError(code && isErrorCode(code) ? code : 'inference_failed', message));
        }
      } catch {
        return; // Redis is down; the next sweep tries again
      }
    }
  }

  /**
   * A job Redis confirmed, and now does not have. Answered and removed by retention, its reply
   * was written first: once the reader has read past the first sighting without delivering it,
   * the job was lost (a failover promoted a replica it had not reached). Its callers would wait
   * out their deadlines, and fair release would count it against its tenant until then.
   */
  #judgeMissing(jobId: string): void {
    if (!this.#queued.has(jobId)) return; // held for fair release, or its add not confirmed yet
    const seenAt = this.#missing.get(jobId);
    if (seenAt === undefined) {
      this.#missing.set(jobId, Date.now());
      return;
    }
    if (this.#reader.caughtUpTo <= seenAt) return;
    this.#logger.warn({ jobId }, 'a queued job is gone from Redis (lost in a failover); its requests are answered 503');
    this.#pending.failJob(
      jobId,
      new ServingError('request_lost', 'Redis lost the queued request (a failover) before it was answered; retry it'),
    );
  }
}
