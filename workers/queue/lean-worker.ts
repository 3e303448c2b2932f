import { Worker, type Job, type Processor, type WorkerOptions } from 'bullmq';
import type { RedisClient } from './redis-connection.js';

/** The BullMQ keys a fetch looks at (named in redis-keys.ts). */
export interface FetchKeys {
  readonly wait: string;
  readonly prioritized: string;
  readonly delayed: string;
}

/**
 * A BullMQ Worker that skips fetches that would find nothing. BullMQ's moveToActive script
 * re-adds the queue's wake-up marker after every job it hands out, so with concurrency above
 * one each job costs two more moveToActive scripts that find the queue empty (~10 commands
 * each). Here a pipelined LLEN/ZCARD/ZCARD (one round trip, no Lua) decides first; only
 * when something is waiting, or any retry is delayed (the script promotes due ones), does the
 * script run. Nothing is lost by skipping: whatever adds a job later also adds the marker,
 * which wakes the blocking wait, after which the queue is looked at again. The finishing
 * script fetches the next job only while the last look found a backlog; otherwise its fetch
 * would be a third empty one.
 */
export class LeanWorker<Data, Result> extends Worker<Data, Result> {
  readonly #redis: RedisClient;
  readonly #keys: FetchKeys;
  /** More jobs waited at the last look than the one taken: finishing may fetch the next. */
  #backlog = true;
  /** The last fetch took the one job the look had found. */
  #tookLast = false;

  constructor(name: string, processor: Processor<Data, Result>, options: WorkerOptions, redis: RedisClient, keys: FetchKeys) {
    super(name, processor, options);
    this.#redis = redis;
    this.#keys = keys;
  }

  protected override async moveToActive(token: string, name?: string): Promise<Job<Data, Result>> {
    // Right after taking the only job waiting, BullMQ asks again at once: the queue is empty
    // but for a job added meanwhile, whose marker the blocking wait then finds (and looks again).
    const waiting = this.#tookLast ? 0 : await this.#waiting();
    this.#tookLast = false;
    if (waiting === 0) {
      this.#backlog = false;
      // As BullMQ does for an empty fetch: marks the queue drained, so the loop blocks on the marker.
      return this.nextJobFromJobData(undefined, undefined, token);
    }
    this.#backlog = waiting > 1;
    const job = await super.moveToActive(token, name);
    this.#tookLast = job !== undefined && waiting === 1;
    return job;
  }

  override async processJob(
    job: Job<Data, Result>,
    token: string,
    fetchNextCallback: () => boolean = () => true,
    // biome-ignore lint/suspicious/noConfusingVoidType: BullMQ's Worker.processJob declares this return type
  ): Promise<void | Job<Data, Result>> {
    const fetchNext = this.#backlog;
    const next = await super.processJob(job, token, () => fetchNext && fetchNextCallback());
    if (fetchNext && !next) this.#backlog = false;
    return next;
  }

  /** Jobs ready to take; Infinity when retries are delayed (only the script promotes them) or the look failed (the script decides). */
  async #waiting(): Promise<number> {
    const results = await this.#redis.pipeline().llen(this.#keys.wait).zcard(this.#keys.prioritized).zcard(this.#keys.delayed).exec();
    if (!results || results.some(([error]) => error)) return Infinity;
    const [wait, prioritized, delayed] = results.map(([, value]) => Number(value));
    return delayed! > 0 ? Infinity : wait! + prioritized!;
  }
}
