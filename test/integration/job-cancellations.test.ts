import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { JobCancellations, markCancelled } from '../../workers/queue/job-cancellations.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { waitFor } from '../helpers/processes.js';
import { cleanRedis, testPrefix, testRedis } from '../helpers/redis.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A worker learns which items of a job to skip from the gateway's announcements when it heard
 * every one since the job was queued (no Redis read), else from the job's marker in Redis.
 */
describe('JobCancellations (real Redis)', () => {
  it('skips by the announcements alone for jobs queued while subscribed, and reads the marker for older ones', async () => {
    const prefix = testPrefix();
    const keys = redisKeys(prefix);
    const redis = testRedis();
    const cancellations = new JobCancellations(redis, testRedis('switchyard-test-sub'), keys, pino({ level: 'silent' }));
    cleanups.push(
      () => cleanRedis(prefix),
      () => redis.quit(),
      () => cancellations.close(),
    );
    // Queued well after the subscription (past the tolerated clock skew), as far as the worker can tell.
    const later = Date.now() + 60_000;
    // Subscribed once an announcement whose marker is gone gets through.
    await waitFor(
      async () => {
        await markCancelled(redis, keys, 'q', 'probe', 0, later);
        await redis.del(keys.cancelledItems('q', 'probe'));
        await new Promise((resolve) => setTimeout(resolve, 50));
        return (await cancellations.begin('q', 'probe', [0], later)).cancelled.has(0);
      },
      5_000,
      'subscribed',
    );
    await markCancelled(redis, keys, 'q', 'heard', 1, later);
    await redis.del(keys.cancelledItems('q', 'heard'));
    await waitFor(async () => (await cancellations.begin('q', 'heard', [0, 1, 2], later)).cancelled.has(1), 2_000, 'announcement heard');
    expect([...(await cancellations.begin('q', 'heard', [0, 1, 2], later)).cancelled]).toEqual([1]);

    // Queued before this worker listened: the announcement may never have reached it; the marker says.
    await redis.sadd(keys.cancelledItems('q', 'old'), '2');
    expect([...(await cancellations.begin('q', 'old', [0, 1, 2], Date.now() - 3_600_000)).cancelled]).toEqual([2]);
    // A job queued now, unannounced: nothing to skip.
    expect((await cancellations.begin('q', 'fresh', [0, 1], later)).cancelled.size).toBe(0);
  });
});
