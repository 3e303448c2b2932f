import { Redis } from 'ioredis';

/**
 * The two kinds of Redis connection Switchyard opens.
 * - `serving`: for commands a request waits on. Fails fast while Redis is down, so the
 *   caller gets a 503 at once instead of hanging; reconnects by itself.
 * - `durable`: for workers, blocking reads and heartbeats. Commands wait for the
 *   reconnect instead of failing (BullMQ workers require this).
 */
export function servingConnection(url: string, name: string): Redis {
  return quiet(new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 100, 1_000),
  }));
}

export function durableConnection(url: string, name: string): Redis {
  return quiet(new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 100, 1_000),
  }));
}

/**
 * Connection errors surface where they matter (a failed command, the registry's poll);
 * without a listener ioredis would also print every reconnect attempt.
 */
function quiet(redis: Redis): Redis {
  redis.on('error', () => undefined);
  return redis;
}
