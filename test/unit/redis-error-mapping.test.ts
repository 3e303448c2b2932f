import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toServingError } from '../../gateway/http/error-reply.js';
import { QUEUEING_FAILED } from '../../gateway/queue/queue-backend.js';
import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { settledWithin } from '../../workers/queue/settled-within.js';
import { RedisProcess, baseArgs, redisCli, serverFolder, until } from '../helpers/redis-process.js';

/**
 * Redis refusing work for a while is a 503 (`backend_unavailable`, retry later), never a 500.
 * The refusals come from real redis-server processes (a master and its replica, ports 7160-7161);
 * the client-side ones are what ioredis says while a Cluster or Sentinel group fails over (the
 * failover tests meet them under load).
 */
const folder = serverFolder('refusals');
const master = new RedisProcess(7160, baseArgs(7160), folder.dir);
const replica = new RedisProcess(7161, [...baseArgs(7161), '--replicaof', '127.0.0.1', '7160'], folder.dir);
const clients: Redis[] = [];

beforeAll(async () => {
  await master.start();
  await replica.start();
  await until(() => redisCli(['-p', '7161', 'info', 'replication']).includes('master_link_status:up'), 30_000, 'replica in sync');
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await Promise.all([replica.kill(), master.kill()]);
  folder.remove();
});

function client(port: number): Redis {
  const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  clients.push(redis);
  return redis;
}

async function refusal(work: Promise<unknown>): Promise<Error> {
  return work.then(
    () => {
      throw new Error('Redis accepted what it should have refused');
    },
    (error: Error) => error,
  );
}

describe('Redis refusals become 503 backend_unavailable', () => {
  it('a write to a replica (READONLY: a demoted master during a failover)', async () => {
    const error = await refusal(client(7161).set('k', 'v'));
    expect(error.message).toMatch(/^READONLY /);
    expect(toServingError(error)).toMatchObject({ code: 'backend_unavailable', status: 503 });
  });

  it('a write while no replica is in reach of min-replicas-to-write (NOREPLICAS)', async () => {
    const redis = client(7160);
    await redis.config('SET', 'min-replicas-to-write', '2');
    try {
      const error = await refusal(redis.set('k', 'v'));
      expect(error.message).toMatch(/^NOREPLICAS /);
      expect(toServingError(error)).toMatchObject({ code: 'backend_unavailable', status: 503 });
    } finally {
      await redis.config('SET', 'min-replicas-to-write', '0');
    }
  });

  it('a command while a script runs past busy-reply-threshold (BUSY)', async () => {
    const redis = client(7160);
    await redis.config('SET', 'busy-reply-threshold', '50');
    const script = redis.eval(
      "local t = redis.call('TIME') while true do local n = redis.call('TIME') if (n[1] - t[1]) * 1e6 + n[2] - t[2] > 600000 then return 1 end end",
      0,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const error = await refusal(client(7160).set('k', 'v'));
    await script;
    await redis.config('SET', 'busy-reply-threshold', '5000');
    expect(error.message).toMatch(/^BUSY /);
    expect(toServingError(error)).toMatchObject({ code: 'backend_unavailable', status: 503 });
  });

  it('a fail-fast connection to a port nothing listens on', async () => {
    const redis = new Redis(7169, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => null });
    clients.push(redis);
    redis.on('error', () => undefined);
    const error = await refusal(redis.get('k'));
    expect(toServingError(error)).toMatchObject({ code: 'backend_unavailable', status: 503 });
    // Said of any step, also after a model ran; the client library's words stay in the log.
    expect(toServingError(error).message).toBe('Redis cannot be reached; the request did not complete');
  });

  it("a job's add that fails is told in Switchyard's words, not the client library's", () => {
    expect(QUEUEING_FAILED).not.toMatch(/enableOfflineQueue|maxRetriesPerRequest|Stream isn't writeable/i);
  });

  it.each([
    'Too many Cluster redirections. Last error: ReplyError: MOVED 537 127.0.0.1:7180',
    'Too many Cluster redirections. Last error: Error: Connection is closed.',
    "Cluster isn't ready and enableOfflineQueue options is false",
    'CLUSTERDOWN The cluster is down',
    'TRYAGAIN Multiple keys request during rehashing of slot',
    'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no',
    'LOADING Redis is loading the dataset in memory',
    'All sentinels are unreachable. Retrying from scratch after 100ms.',
    'Command aborted due to connection close',
    'read ECONNRESET',
  ])('ioredis during a failover: %s', (message) => {
    expect(toServingError(new Error(message))).toMatchObject({ code: 'backend_unavailable', status: 503 });
  });

  it('a transaction a Cluster client leaves unsettled (settledWithin) fails after its bound, as an outage', async () => {
    const never = new Promise<never>(() => undefined);
    const cluster = { isCluster: true } as RedisClient;
    const startedAt = Date.now();
    const error = await refusal(settledWithin(cluster, never, 50));
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(45);
    expect(toServingError(error)).toMatchObject({ code: 'backend_unavailable', status: 503 });
    // A single Redis's transactions are left to settle however long they take.
    const single = client(7160);
    const pending = settledWithin(single, new Promise((resolve) => setTimeout(() => resolve('late'), 100)), 10);
    await expect(pending).resolves.toBe('late');
  });

  it('other errors stay internal (500): a bug is not an outage', () => {
    expect(toServingError(new TypeError("Cannot read properties of undefined (reading 'id')"))).toMatchObject({
      code: 'internal_error',
      status: 500,
    });
    expect(toServingError(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toMatchObject({
      code: 'internal_error',
    });
  });
});
