import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { GROUP } from '../../workers/queue/stream-jobs.js';
import { REDIS_ENV } from './redis.js';

/** Which engine the tests' gateways and workers run (QUEUE_ENGINE, as npm run test:streams sets it). */
export const QUEUE_ENGINE = REDIS_ENV.QUEUE_ENGINE ?? 'bullmq';
const streams = QUEUE_ENGINE === 'streams';

/** Jobs waiting in a queue, not taken by a worker yet, whichever engine carries them. */
export async function jobsWaiting(redis: RedisClient, prefix: string, queue: string): Promise<number> {
  const keys = redisKeys(prefix);
  if (streams) {
    let waiting = 0;
    for (const stream of keys.jobStreams(queue)) {
      const held = (await redis.xpending(stream, GROUP).catch(() => [0])) as [number];
      waiting += (await redis.xlen(stream)) - Number(held[0] ?? 0);
    }
    return waiting;
  }
  const wait = keys.waiting(queue);
  return (await redis.llen(wait.wait)) + (await redis.zcard(wait.prioritized));
}

/** Jobs workers hold (taken, not finished), whichever engine carries them. */
export async function jobsInHand(redis: RedisClient, prefix: string, queue: string): Promise<number> {
  const keys = redisKeys(prefix);
  if (streams) {
    let held = 0;
    for (const stream of keys.jobStreams(queue)) {
      const summary = (await redis.xpending(stream, GROUP).catch(() => [0])) as [number];
      held += Number(summary[0] ?? 0);
    }
    return held;
  }
  return redis.llen(`${keys.queuePrefix(queue)}:${queue}:active`);
}
