import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ModelState } from '../pool/model-state.js';
import type { VersionStatistics } from '../pool/statistics.js';
import { workerKey, workersKey } from './queue-names.js';

/** What a worker announces on every beat. */
export interface WorkerAnnouncement {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  /** providers: what the version runs on (absent from workers older than the TF runtime). */
  readonly versions: readonly { readonly model: string; readonly version: string; readonly state: ModelState; readonly providers?: readonly string[] }[];
  readonly statistics: readonly VersionStatistics[];
}

/** A worker counts as gone after this many missed beats. */
export const MISSED_BEATS = 3;

/** Worker side: announces which model versions are warm, every `periodMs`, with an expiry. */
export class Heartbeat {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #periodMs: number;
  readonly #announce: () => WorkerAnnouncement;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { redis: Redis; prefix: string; periodMs: number; announce: () => WorkerAnnouncement; logger: Logger }) {
    this.#redis = options.redis;
    this.#prefix = options.prefix;
    this.#periodMs = options.periodMs;
    this.#announce = options.announce;
    this.#logger = options.logger;
  }

  async beat(): Promise<void> {
    const announcement = this.#announce();
    const ttl = this.#periodMs * MISSED_BEATS;
    await this.#redis
      .multi()
      .set(workerKey(this.#prefix, announcement.id), JSON.stringify(announcement), 'PX', ttl)
      .zadd(workersKey(this.#prefix), Date.now() + ttl, announcement.id)
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
    await this.#redis.multi().del(workerKey(this.#prefix, workerId)).zrem(workersKey(this.#prefix), workerId).exec();
  }
}
