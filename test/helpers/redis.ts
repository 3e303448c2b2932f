import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { answersPing } from './redis-process.js';
import { Cluster, Redis } from 'ioredis';
import { parseWorkerConfig, redisTarget } from '../../workers/config.js';
import { connect, type ConnectionRole, type RedisClient } from '../../workers/queue/redis-connection.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * What gateways and workers under test are given to reach Redis (and, with QUEUE_ENGINE set, which
 * queue engine carries their jobs): the shared single Redis,
 * or, with REDIS_TEST_MODE=cluster|sentinel, the servers test/global-setup.ts started
 * (it sets REDIS_MODE and REDIS_SENTINEL_MASTER beside REDIS_URL).
 */
export const REDIS_ENV: Readonly<Record<string, string>> = Object.freeze({
  REDIS_URL,
  // QUEUE_ENGINE=streams runs the distributed files on the streams engine (npm run test:streams).
  ...(process.env.QUEUE_ENGINE ? { QUEUE_ENGINE: process.env.QUEUE_ENGINE } : {}),
  ...(process.env.REDIS_MODE ? { REDIS_MODE: process.env.REDIS_MODE } : {}),
  ...(process.env.REDIS_SENTINEL_MASTER ? { REDIS_SENTINEL_MASTER: process.env.REDIS_SENTINEL_MASTER } : {}),
});

export const REDIS_MODE = (REDIS_ENV.REDIS_MODE ?? 'single') as 'single' | 'sentinel' | 'cluster';

/** A connection to the Redis under test, whatever its mode, built by the product's own factory. */
export function testRedis(
  name = 'switchyard-test',
  env: Readonly<Record<string, string>> = REDIS_ENV,
  role: ConnectionRole = 'durable',
): RedisClient {
  return connect(redisTarget(parseWorkerConfig({ ...env, WORKER_ID: 'test' }))!, role, name);
}

/** A key prefix of its own for one test, so tests never see each other's queues. */
export function testPrefix(): string {
  return `sytest-${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under the prefix: on the Redis at `url`, or on every master of the Redis under test. */
export async function cleanRedis(prefix: string, url?: string): Promise<void> {
  const client = url ? new Redis(url, { maxRetriesPerRequest: 1 }) : testRedis('switchyard-test-clean');
  try {
    const nodes = client instanceof Cluster ? await mastersOf(client) : [client];
    for (const redis of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        // One DEL per key: in a cluster the keys of one batch live in different slots.
        if (keys.length > 0) await Promise.all(keys.map((key) => redis.del(key)));
        cursor = next;
      } while (cursor !== '0');
    }
  } finally {
    client.disconnect();
  }
}

/** A cluster's masters, once it has learnt the slots. */
async function mastersOf(cluster: Cluster): Promise<Redis[]> {
  if (cluster.status !== 'ready') await new Promise((resolve) => cluster.once('ready', resolve));
  return cluster.nodes('master');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A private redis-server the test may stop and restart (the shared one must stay up). */
export class PrivateRedis {
  #process: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.#process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'],
      { stdio: 'ignore' },
    );
    // Up to 15 s: on a loaded 2-core machine redis-server can take seconds to answer.
    for (let i = 0; i < 300; i += 1) {
      if (await answersPing(this.port)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  async stop(): Promise<void> {
    const proc = this.#process;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  }
}
