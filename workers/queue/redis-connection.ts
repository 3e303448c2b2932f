import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { redisTarget, type RedisTarget, type SharedConfig } from '../config.js';
import { RETRY, SwitchFollowingSentinelConnector } from './sentinel-connector.js';

/** A connection to a single Redis, a Sentinel-managed master, or a Cluster: the commands Switchyard uses are the same. */
export type RedisClient = Redis | Cluster;

/**
 * The two kinds of Redis connection Switchyard opens.
 * - `serving`: for commands a request waits on. Fails fast while Redis is down (no offline
 *   queue, one retry), so the caller gets a 503 at once instead of hanging; reconnects by itself.
 * - `durable`: for workers, blocking reads and heartbeats. Commands wait for the reconnect
 *   instead of failing (BullMQ's blocking connections require `maxRetriesPerRequest: null`).
 */
export type ConnectionRole = 'serving' | 'durable';

const ROLE: Record<ConnectionRole, RedisOptions> = {
  serving: { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 },
  durable: { maxRetriesPerRequest: null },
};

/** The one place every Redis connection is built, for REDIS_MODE single, sentinel or cluster. */
export function redisConnection(config: SharedConfig, role: ConnectionRole, name: string): RedisClient {
  const target = redisTarget(config);
  if (!target) throw new Error('redisConnection: REDIS_URL is not set (embedded mode has no Redis)');
  return connect(target, role, name);
}

export function connect(target: RedisTarget, role: ConnectionRole, name: string): RedisClient {
  const common: RedisOptions = {
    connectionName: name,
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.tls ? { tls: target.tls.ca !== undefined ? { ca: target.tls.ca } : {} } : {}),
  };
  if (target.mode === 'cluster') {
    const { enableOfflineQueue, ...perNode } = ROLE[role];
    const options: ClusterOptions = {
      redisOptions: { ...common, ...perNode },
      enableOfflineQueue: enableOfflineQueue ?? true,
      clusterRetryStrategy: RETRY,
      // A slot whose master failed answers CLUSTERDOWN until a replica takes over: retry soon.
      retryDelayOnClusterDown: 200,
      retryDelayOnFailover: 200,
      // Nodes learn of a promotion at different times, and a slots map read from one that had not
      // yet is refreshed only by a later failure: read it again every 2 s regardless.
      slotsRefreshInterval: 2_000,
      // With TLS the nodes announce IPs the certificate may not name: keep the seed's host name.
      ...(target.tls ? { dnsLookup: (address, done) => done(null, address) } : {}),
    };
    return quiet(
      new Cluster(
        target.nodes.map((node) => ({ ...node })),
        options,
      ),
    );
  }
  const options: RedisOptions = { ...common, ...ROLE[role], db: target.db, retryStrategy: RETRY };
  if (target.mode === 'single') return quiet(new Redis({ ...options, host: target.nodes[0]!.host, port: target.nodes[0]!.port }));
  return quiet(
    new Redis({
      ...options,
      sentinels: target.nodes.map((node) => ({ ...node })),
      name: target.sentinelMaster!,
      ...(target.sentinelUsername !== undefined ? { sentinelUsername: target.sentinelUsername } : {}),
      ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
      ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: target.tls.ca !== undefined ? { ca: target.tls.ca } : {} } : {}),
      sentinelRetryStrategy: RETRY,
      // Follows the sentinels' +switch-master at once (ioredis's own detector can leave a
      // connection closed for good when a switch lands mid-reconnect: sentinel-connector.ts).
      Connector: SwitchFollowingSentinelConnector,
      failoverDetector: false,
      // A demoted master answers writes with READONLY: reconnect, and the sentinels name the new one.
      reconnectOnError: (error) => error.message.startsWith('READONLY'),
    }),
  );
}

/**
 * Connection errors surface where they matter (a failed command, the registry's poll);
 * without a listener ioredis would also print every reconnect attempt.
 */
function quiet<T extends RedisClient>(redis: T): T {
  redis.on('error', () => undefined);
  return redis;
}

/** Resolves when the connection is usable (a Cluster reports 'ready' once it knows the slots), or after `timeoutMs` regardless. */
export function whenReady(redis: RedisClient, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once('ready', done);
  });
}
