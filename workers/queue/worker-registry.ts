import type { Logger } from 'pino';
import { ModelState } from '../pool/model-state.js';
import type { BatchStatistics, VersionStatistics } from '../pool/statistics.js';
import type { WorkerAnnouncement } from './heartbeat.js';
import { inferQueueNames } from './queue-names.js';
import type { RedisClient } from './redis-connection.js';
import { redisKeys, type RedisKeys } from './redis-keys.js';

/** A version the gateway serves, and over how many queues (model config queue_partitions). */
export interface ServedVersion {
  readonly model: string;
  readonly version: string;
  readonly partitions: number;
}

const versionKey = (model: string, version: string): string => `${model}\u0000${version}`;

/**
 * A poll unanswered this long (and at least two periods) means Redis stopped answering with its
 * connections open (a paused host, a path that drops packets): nothing fails on this side, so
 * only the wait can tell. A poll takes about a millisecond.
 */
export const STALLED_POLL_MIN_MS = 2_000;

/**
 * Gateway side: what the live workers announce, refreshed every poll, plus the
 * backlog of each queue. Read by readiness checks and admission on every request,
 * so they answer from memory. The poll's commands go out together; each queue's counts are
 * separate commands, since in a Cluster the queues live on different shards.
 */
export class WorkerRegistry {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #periodMs: number;
  readonly #logger: Logger;
  readonly #versions: () => readonly ServedVersion[];
  readonly #waiting: (queue: string) => Promise<number>;
  #workers: WorkerAnnouncement[] = [];
  #states = new Map<string, ModelState>();
  #providers = new Map<string, string[]>();
  #backlog = new Map<string, number>();
  #reachable = false;
  #timer: NodeJS.Timeout | undefined;
  /** Numbers the polls: only the latest one started may change what is known. */
  #generation = 0;
  #stopped = false;

  readonly #onPolled: () => void;

  constructor(options: {
    redis: RedisClient;
    prefix: string;
    periodMs: number;
    logger: Logger;
    versions: () => readonly ServedVersion[];
    /** Jobs waiting in one queue (the queue engine counts them). */
    waiting: (queue: string) => Promise<number>;
    /** After each successful poll (the backlog figures are fresh). */
    onPolled?: () => void;
  }) {
    this.#onPolled = options.onPolled ?? (() => undefined);
    this.#redis = options.redis;
    this.#keys = redisKeys(options.prefix);
    this.#periodMs = options.periodMs;
    this.#logger = options.logger;
    this.#versions = options.versions;
    this.#waiting = options.waiting;
  }

  /** Redis answered the last poll. */
  get reachable(): boolean {
    return this.#reachable;
  }

  /** READY when any live worker has the version warm; LOADING when one is warming it. */
  state(model: string, version: string): ModelState {
    return this.#states.get(versionKey(model, version)) ?? ModelState.UNAVAILABLE;
  }

  /** What live workers run the version on, across workers, without repeats. */
  providers(model: string, version: string): readonly string[] {
    return this.#providers.get(versionKey(model, version)) ?? [];
  }

  /**
   * Requests the live workers with the version READY keep busy with: each two batches per
   * instance, batches as its batcher forms them (the warm-up's cap), or its WORKER_CONCURRENCY jobs of max_batch_size each;
   * `perWorker` for a worker that does not say. 0 when none has the version ready.
   */
  intake(model: string, version: string, perWorker: number): number {
    let requests = 0;
    for (const worker of this.#workers) {
      if (!worker.versions.some((v) => v.model === model && v.version === version && v.state === ModelState.READY)) continue;
      const stats = worker.statistics.find((s) => s.name === model && s.version === version);
      const serving = stats?.serving;
      const batch = serving ? Math.max(1, Math.min(stats.batch_cap ?? serving.max_batch_size, serving.max_batch_size)) : undefined;
      // WORKER_CONCURRENCY is jobs, each up to max_batch_size requests: as many as that worker can hold.
      if (worker.concurrency !== undefined) requests += worker.concurrency * (serving?.max_batch_size ?? 1);
      else requests += serving && batch ? 2 * batch * serving.instance_count : perWorker;
    }
    return requests;
  }

  /** Requests waiting in the version's queues at the last poll. */
  backlog(model: string, version: string): number {
    return this.#backlog.get(versionKey(model, version)) ?? 0;
  }

  /** Live workers' statistics for the version, summed. */
  statistics(): VersionStatistics[] {
    const sums = new Map<string, VersionStatistics>();
    for (const worker of this.#workers) {
      for (const stats of worker.statistics) {
        const key = versionKey(stats.name, stats.version);
        const sum = sums.get(key);
        sums.set(key, sum ? addStatistics(sum, stats) : stats);
      }
    }
    return [...sums.values()];
  }

  /** The poll's wait past which Redis counts as unreachable until a poll is answered. */
  get stalledAfterMs(): number {
    return Math.max(STALLED_POLL_MIN_MS, 2 * this.#periodMs);
  }

  /** Reads the registry now; what a later poll started meanwhile read wins. */
  poll(): Promise<void> {
    return this.#poll(++this.#generation);
  }

  async #poll(generation: number): Promise<void> {
    const now = Date.now();
    const versions = this.#versions();
    try {
      const workers = this.#keys.workers();
      const counts = Promise.all(
        versions.map(async ({ model, version, partitions }) => {
          const queues = inferQueueNames(model, version, partitions);
          const counts = await Promise.all(queues.map((queue) => this.#waiting(queue)));
          return counts.reduce((sum, waiting) => sum + waiting, 0);
        }),
      );
      counts.catch(() => undefined); // awaited below; a failure before then must not go unhandled
      const cleanup = await this.#redis.multi().zremrangebyscore(workers, '-inf', String(now)).zrange(workers, '0', '-1').exec();
      const failed = cleanup?.find(([error]) => error)?.[0];
      if (failed) throw failed;
      const ids = (cleanup?.[1]?.[1] as string[] | undefined) ?? [];
      const announcements = ids.length > 0 ? await this.#redis.mget(...ids.map((id) => this.#keys.worker(id))) : [];
      const waiting = await counts;
      if (generation !== this.#generation) return;
      this.#workers = announcements.filter((raw): raw is string => raw !== null).map((raw) => JSON.parse(raw) as WorkerAnnouncement);
      const backlog = new Map<string, number>();
      versions.forEach(({ model, version }, index) => backlog.set(versionKey(model, version), waiting[index] ?? 0));
      this.#backlog = backlog;
      this.#states = mergeStates(this.#workers);
      this.#providers = mergeProviders(this.#workers);
      this.#onPolled();
      if (!this.#reachable) this.#logger.info('redis reachable');
      this.#reachable = true;
    } catch (error) {
      if (generation === this.#generation) this.#unreachable(error);
    }
  }

  #unreachable(error: unknown): void {
    if (this.#reachable) this.#logger.warn({ err: error }, 'redis unreachable; models count as not ready');
    this.#reachable = false;
    this.#states = new Map();
    this.#providers = new Map();
  }

  /**
   * A poll every period. One left unanswered stalledAfterMs marks Redis unreachable and is left
   * behind for a fresh one: on a Redis that stopped answering that one waits too, but where one
   * connection was left hanging by a failover (a Cluster node's pipeline), the next can get through.
   */
  start(): void {
    const tick = (): void => {
      const generation = ++this.#generation;
      const stalled = setTimeout(() => {
        if (generation !== this.#generation || this.#stopped) return;
        this.#unreachable(new Error(`Redis has not answered the registry's poll in ${this.stalledAfterMs} ms`));
        clearTimeout(this.#timer);
        tick();
      }, this.stalledAfterMs);
      void this.#poll(generation).finally(() => {
        clearTimeout(stalled);
        if (generation === this.#generation && !this.#stopped) this.#timer = setTimeout(tick, this.#periodMs);
      });
    };
    this.#timer = setTimeout(tick, this.#periodMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}

function mergeStates(workers: readonly WorkerAnnouncement[]): Map<string, ModelState> {
  const rank = [ModelState.READY, ModelState.LOADING, ModelState.UNLOADING, ModelState.FAILED, ModelState.UNAVAILABLE];
  const states = new Map<string, ModelState>();
  for (const worker of workers) {
    for (const { model, version, state } of worker.versions) {
      const key = versionKey(model, version);
      const current = states.get(key);
      if (current === undefined || rank.indexOf(state) < rank.indexOf(current)) states.set(key, state);
    }
  }
  return states;
}

function mergeProviders(workers: readonly WorkerAnnouncement[]): Map<string, string[]> {
  const providers = new Map<string, Set<string>>();
  for (const worker of workers) {
    for (const { model, version, providers: names = [] } of worker.versions) {
      const key = versionKey(model, version);
      const set = providers.get(key) ?? new Set<string>();
      for (const name of names) set.add(name);
      providers.set(key, set);
    }
  }
  return new Map([...providers].map(([key, set]) => [key, [...set].sort()]));
}

function addStatistics(a: VersionStatistics, b: VersionStatistics): VersionStatistics {
  const add = (x: { count: number; ns: number }, y: { count: number; ns: number }) => ({ count: x.count + y.count, ns: x.ns + y.ns });
  // A worker of the release before reports compute_infer alone per batch size.
  const none = { count: 0, ns: 0 };
  const batches = new Map<number, BatchStatistics>();
  for (const entry of [...a.batch_stats, ...b.batch_stats]) {
    const existing = batches.get(entry.batch_size);
    const input = entry.compute_input ?? none;
    const output = entry.compute_output ?? none;
    batches.set(entry.batch_size, {
      batch_size: entry.batch_size,
      compute_input: existing ? add(existing.compute_input, input) : input,
      compute_infer: existing ? add(existing.compute_infer, entry.compute_infer) : entry.compute_infer,
      compute_output: existing ? add(existing.compute_output, output) : output,
    });
  }
  const stats = a.inference_stats;
  const other = b.inference_stats;
  return {
    ...a, // serving settings and warm-up curve: the first worker's stand for all
    name: a.name,
    version: a.version,
    last_inference: Math.max(a.last_inference, b.last_inference),
    inference_count: a.inference_count + b.inference_count,
    execution_count: a.execution_count + b.execution_count,
    inference_stats: {
      success: add(stats.success, other.success),
      fail: add(stats.fail, other.fail),
      queue: add(stats.queue, other.queue),
      compute_input: add(stats.compute_input, other.compute_input),
      compute_infer: add(stats.compute_infer, other.compute_infer),
      compute_output: add(stats.compute_output, other.compute_output),
    },
    batch_stats: [...batches.values()].sort((x, y) => x.batch_size - y.batch_size),
  };
}
