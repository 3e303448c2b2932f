import type { RedisClient } from './redis-connection.js';

/** How long a command on a Cluster may stay unsettled before `settledWithin` gives up on it. */
export const CLUSTER_TRANSACTION_SETTLE_MS = 10_000;

/**
 * ioredis 6's Cluster client can leave a command sent while a failover is under way pending for
 * good: a MULTI (docs/distributed.md has the reproduction) and a plain XADD (a job's add, seen in
 * the failover test); and any command waits for as long as a master that stopped answering stays
 * so. Where a caller awaits a transaction, or a command that holds up later work, before going on,
 * on a Cluster it gets an error after `ms` instead: its effect is then unknown, as after a
 * connection lost mid-command, which those callers already handle. A single Redis is left alone.
 * A command that does settle takes milliseconds, or ioredis's redirections (about 3.2 s) during a
 * failover.
 */
export function settledWithin<T>(redis: RedisClient, exec: Promise<T>, ms = CLUSTER_TRANSACTION_SETTLE_MS): Promise<T> {
  if (!redis.isCluster) return exec;
  let timer: NodeJS.Timeout | undefined;
  const unsettled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`a Redis Cluster command did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([exec, unsettled]).finally(() => clearTimeout(timer));
}
