import type { Logger } from 'pino';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/** Keeps a cancelled item's marker this long past its request's deadline (a retried job may still read it). */
const MARKER_GRACE_MS = 60_000;

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
 * The worker's half: each job in hand has an abort controller per item; the marker read
 * when the job starts names the items to skip, and announcements abort items already sent
 * to the batcher (queued there, they leave its queue; running, their rows are dropped).
 */
export class JobCancellations {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #subscriber: RedisClient;
  readonly #inHand = new Map<string, Map<number, AbortController>>();

  constructor(redis: RedisClient, subscriber: RedisClient, keys: RedisKeys, logger: Logger) {
    this.#redis = redis;
    this.#keys = keys;
    this.#subscriber = subscriber;
    subscriber.on('message', (_channel: string, message: string) => {
      const [, jobId, item] = message.split(' ');
      if (jobId !== undefined) this.#inHand.get(jobId)?.get(Number(item))?.abort();
    });
    subscriber
      .subscribe(keys.cancellations())
      .catch((error: unknown) =>
        logger.warn({ err: error }, 'cancellation channel subscribe failed; cancelled jobs are still skipped by their markers'),
      );
  }

  /**
   * Takes a job in hand: its items' signals, and the items cancelled before it started (to
   * skip). Registered before the marker is read, so no cancellation falls between the two.
   */
  async begin(
    queue: string,
    jobId: string,
    items: readonly number[],
  ): Promise<{ signals: Map<number, AbortSignal>; cancelled: Set<number> }> {
    const controllers = new Map(items.map((item) => [item, new AbortController()]));
    this.#inHand.set(jobId, controllers);
    const marked = await this.#redis.smembers(this.#keys.cancelledItems(queue, jobId)).catch(() => [] as string[]);
    const cancelled = new Set(marked.map(Number).filter((item) => controllers.has(item)));
    return { signals: new Map([...controllers].map(([item, controller]) => [item, controller.signal])), cancelled };
  }

  end(jobId: string): void {
    this.#inHand.delete(jobId);
  }

  async close(): Promise<void> {
    await this.#subscriber.quit().catch(() => undefined);
  }
}
