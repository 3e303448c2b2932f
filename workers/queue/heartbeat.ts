import type { Logger } from 'pino';
import type { ModelState } from '../pool/model-state.js';
import type { VersionStatistics } from '../pool/statistics.js';
import type { RedisClient } from './redis-connection.js';
import { redisKeys, type RedisKeys } from './redis-keys.js';

/** What a worker announces on every beat. */
export interface WorkerAnnouncement {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  /** providers: what the version runs on (absent from workers older than the TF runtime). */
  readonly versions: readonly {
    readonly model: string;
    readonly version: string;
    readonly state: ModelState;
    readonly providers?: readonly string[];
  }[];
  readonly statistics: readonly VersionStatistics[];
  /** WORKER_CONCURRENCY, when set: jobs it takes at once per version (else the model's default, see consumer.ts). */
  readonly concurrency?: number;
}

/** A worker counts as gone after this many missed beats. */
export const MISSED_BEATS = 3;

/** Worker side: announces which model versions are warm, every `periodMs`, with an expiry. */
export class Heartbeat {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #periodMs: number;
  readonly #announce: () => WorkerAnnouncement;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { redis: RedisClient; prefix: string; periodMs: number; announce: () => WorkerAnnouncement; logger: Logger }) {
    this.#redis = options.redis;
    this.#keys = redisKeys(options.prefix);
    this.#periodMs = options.periodMs;
    this.#announce = options.announce;
    this.#logger = options.logger;
  }

  async beat(): Promise<void> {
    const announcement = this.#announce();
    const ttl = this.#periodMs * MISSED_BEATS;
    await this.#redis
      .multi()
      .set(this.#keys.worker(announcement.id), JSON.stringify(announcement), 'PX', ttl)
      .zadd(this.#keys.workers(), Date.now() + ttl, announcement.id)
      .exec();
  }

  start(): void {
    const tick = (): void => {
      this.beat().catch((error: unknown) => this.#logger.warn({ err: error }, 'heartbeat failed'));
      this.#timer = setTimeout(tick, this.#periodMs);
    };
    tick();
  }

  /** Stops beating and withdraws the announcement, so gateways stop routing here at once. */
  async stop(workerId: string): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    await this.#redis.multi().del(this.#keys.worker(workerId)).zrem(this.#keys.workers(), workerId).exec();
  }
}
