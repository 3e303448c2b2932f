import type { Logger } from 'pino';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/** Keeps a cancelled item's marker this long past its request's deadline (a retried job may still read it). */
const MARKER_GRACE_MS = 60_000;
/** Announcements remembered for jobs not in hand (yet): this long, and at most this many jobs. */
const REMEMBER_MS = 600_000;
const REMEMBER_JOBS = 10_000;
/** Clock difference between gateways and workers tolerated when trusting the announcements alone. */
const CLOCK_SKEW_MS = 5_000;

/**
 * The gateway's half: a request whose caller left after its job was queued is added to the
 * job's cancelled marker (read by the worker before it runs the job) and announced on the
 * cancellation channel (for a worker that holds the job already). One MULTI: the marker is
 * written before the announcement, so a worker that took the job in between sees one or the other.
 */
export async function markCancelled(
  redis: RedisClient,
  keys: RedisKeys,
  queue: string,
  jobId: string,
  item: number,
  deadline: number,
): Promise<void> {
  const marker = keys.cancelledItems(queue, jobId);
  const ttl = Math.max(0, deadline - Date.now()) + MARKER_GRACE_MS;
  await redis.multi().sadd(marker, String(item)).pexpire(marker, ttl).exec();
  await redis.publish(keys.cancellations(), `${queue} ${jobId} ${item}`);
}

/**
 * The worker's half: each job in hand has an abort controller per item; the items to skip when
 * the job starts come from the announcements, and announcements abort items already sent to the
 * batcher (queued there, they leave its queue; running, their rows are dropped).
 *
 * A job queued while this worker was subscribed (and the announcements since are remembered)
 * heard every cancellation of it, since the gateway announces each one: its marker need not be
 * read, which saves a round trip per job. Otherwise (a job queued before the subscription, after
 * a reconnect, or too long ago) the marker in Redis is read, as it holds them all.
 */
export class JobCancellations {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #subscriber: RedisClient;
  readonly #inHand = new Map<string, Map<number, AbortController>>();
  /** Announced items by job, oldest job first. */
  readonly #heard = new Map<string, { readonly at: number; readonly items: Set<number> }>();
  /** Since when every announcement has been heard and remembered; undefined while not subscribed. */
  #hearingSince: number | undefined;

  constructor(redis: RedisClient, subscriber: RedisClient, keys: RedisKeys, logger: Logger) {
    this.#redis = redis;
    this.#keys = keys;
    this.#subscriber = subscriber;
    subscriber.on('message', (_channel: string, message: string) => {
      const [, jobId, item] = message.split(' ');
      if (jobId === undefined) return;
      this.#remember(jobId, Number(item));
      this.#inHand.get(jobId)?.get(Number(item))?.abort();
    });
    const subscribe = (): void => {
      subscriber.subscribe(keys.cancellations()).then(
        () => {
          this.#hearingSince ??= Date.now();
        },
        (error: unknown) =>
          logger.warn({ err: error }, 'cancellation channel subscribe failed; cancelled jobs are still skipped by their markers'),
      );
    };
    // Announcements made while disconnected are lost: until subscribed again, markers are read.
    subscriber.on('close', () => {
      this.#hearingSince = undefined;
    });
    subscriber.on('ready', subscribe);
    subscribe();
  }

  #remember(jobId: string, item: number): void {
    const now = Date.now();
    let heard = this.#heard.get(jobId);
    if (!heard) this.#heard.set(jobId, (heard = { at: now, items: new Set() }));
    heard.items.add(item);
    for (const [oldest, { at }] of this.#heard) {
      if (at > now - REMEMBER_MS && this.#heard.size <= REMEMBER_JOBS) break;
      this.#heard.delete(oldest);
      // Forgotten early (too many): only jobs queued from now on can go by the announcements alone.
      if (at > now - REMEMBER_MS && this.#hearingSince !== undefined) this.#hearingSince = now;
    }
  }

  /** Every cancellation of a job queued at `queuedAt` (gateway clock) was heard and is remembered. */
  #heardAll(queuedAt: number): boolean {
    const since = this.#hearingSince;
    return since !== undefined && queuedAt > since + CLOCK_SKEW_MS && queuedAt > Date.now() - REMEMBER_MS + CLOCK_SKEW_MS;
  }

  /**
   * Takes a job in hand: its items' signals, and the items cancelled before it started (to
   * skip). Registered before the marker is read, so no cancellation falls between the two.
   * `queuedAt`: when the gateway queued the job.
   */
  async begin(
    queue: string,
    jobId: string,
    items: readonly number[],
    queuedAt: number,
  ): Promise<{ signals: Map<number, AbortSignal>; cancelled: Set<number> }> {
    const controllers = new Map(items.map((item) => [item, new AbortController()]));
    this.#inHand.set(jobId, controllers);
    const heard = [...(this.#heard.get(jobId)?.items ?? [])];
    const marked = this.#heardAll(queuedAt)
      ? []
      : await this.#redis.smembers(this.#keys.cancelledItems(queue, jobId)).catch(() => [] as string[]);
    const cancelled = new Set([...heard, ...marked.map(Number)].filter((item) => controllers.has(item)));
    return { signals: new Map([...controllers].map(([item, controller]) => [item, controller.signal])), cancelled };
  }

  end(jobId: string): void {
    this.#inHand.delete(jobId);
  }

  async close(): Promise<void> {
    await this.#subscriber.quit().catch(() => undefined);
  }
}
