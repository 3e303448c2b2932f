import { afterEach, describe, expect, it } from 'vitest';
import { RedisConcurrencyStore } from '../../gateway/limits/tenant-concurrency.js';
import type { RunningServer } from '../../gateway/server.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { startTestGateway } from '../helpers/gateway.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, testPrefix, testRedis } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';
import { TENANT_KEYS, lineRequest, timedInfer, writeTenantPolicy, type Timed } from '../helpers/tenant-traffic.js';

const servers: RunningServer[] = [];
const spawned: Spawned[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const child of spawned.splice(0)) child.kill('SIGKILL');
  for (const prefix of prefixes.splice(0)) await cleanRedis(prefix);
});

const MAX = 2;
/** Wide enough that a request runs for a while, so concurrent ones overlap. */
const SLOW = 1600;

const count = (replies: readonly Timed[], status: number): number => replies.filter((reply) => reply.status === status).length;

/**
 * max_concurrency counted exactly over every way a call ends: after successes, refusals,
 * 400s, timeouts and abandoned calls, MAX slow calls at once are served and one more is not.
 */
async function expectConcurrencyLimit(url: string): Promise<void> {
  const capped = (width: number, parameters: Record<string, unknown> = {}, signal?: AbortSignal) =>
    timedInfer(url, TENANT_KEYS.capped, lineRequest(width, 3, parameters), signal);
  const exactly = async (): Promise<void> => {
    const replies = await Promise.all(Array.from({ length: MAX + 1 }, () => capped(SLOW)));
    expect(count(replies, 200)).toBe(MAX);
    const refused = replies.find((reply) => reply.status === 429)!;
    expect(refused.code).toBe('concurrency_limited');
    expect(refused.headers.get('retry-after')).toBe('1');
  };
  await exactly();
  // Errors: a 400 holds a slot only while it is checked.
  const invalid = await Promise.all(
    Array.from({ length: 4 }, () =>
      timedInfer(url, TENANT_KEYS.capped, {
        ...lineRequest(SLOW, 1),
        body: Buffer.from('{"inputs": 5}'),
        headers: { 'content-type': 'application/json' },
      }),
    ),
  );
  expect(invalid.map((reply) => reply.code)).toEqual(expect.arrayContaining(['invalid_request']));
  // Timeouts: answered 503 at the deadline, slot given back then.
  const late = await Promise.all(Array.from({ length: MAX }, () => capped(SLOW * 2, { timeout_ms: 1 })));
  for (const reply of late) expect(reply.code).toBe('request_timeout');
  // Abandoned: the slot is held while the work still runs, then given back.
  const aborted = Array.from({ length: MAX }, () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 30);
    return capped(SLOW, {}, abort.signal).catch((error: unknown) => error);
  });
  await Promise.all(aborted);
  await waitFor(
    async () => (await Promise.all(Array.from({ length: MAX }, () => capped(200)))).every((reply) => reply.status === 200),
    60_000,
    'slots back after abandoned calls',
  );
  await exactly();
  // Another tenant is not limited by this one's slots.
  const others = await Promise.all(Array.from({ length: MAX + 2 }, () => timedInfer(url, TENANT_KEYS.quiet, lineRequest(200, 2))));
  expect(count(others, 200)).toBe(MAX + 2);
}

/** The tenant's default priority, a clamped ask, an allowed one, and a strict tenant's refusal. */
async function expectPriorities(url: string): Promise<void> {
  const batch = (parameters: Record<string, unknown>) => timedInfer(url, TENANT_KEYS.batch, lineRequest(96, 4, parameters));
  expect((await batch({})).headers.get('x-priority')).toBe('8');
  expect((await batch({ priority: 0 })).headers.get('x-priority')).toBe('5');
  expect((await batch({ priority: 12 })).headers.get('x-priority')).toBe('12');
  const refused = await timedInfer(url, TENANT_KEYS.strict, lineRequest(96, 4, { priority: 4 }));
  expect(refused.status).toBe(403);
  expect(refused.code).toBe('priority_not_allowed');
  const allowed = await timedInfer(url, TENANT_KEYS.strict, lineRequest(96, 4, { priority: 5 }));
  expect(allowed.status).toBe(200);
  expect(allowed.headers.get('x-priority')).toBe('5');
  // A tenant with no priority rules keeps today's default.
  expect((await timedInfer(url, TENANT_KEYS.quiet, lineRequest(96, 4))).headers.get('x-priority')).toBe('0');
}

describe('tenant limits: max_concurrency and priority', () => {
  it('embedded', async () => {
    const repository = new TestRepository().copy('text-recognizer');
    const server = await startTestGateway(repository.dir, { SWITCHYARD_CONFIG: writeTenantPolicy(repository.dir, MAX) });
    servers.push(server);
    const url = `${server.url}/v2/models/text-recognizer/infer`;
    await expectPriorities(url);
    await expectConcurrencyLimit(url);
  }, 180_000);

  it('distributed: one limit over two gateways, kept in Redis', async () => {
    const repository = new TestRepository().copy('text-recognizer');
    const prefix = testPrefix();
    prefixes.push(prefix);
    const env = {
      ...REDIS_ENV,
      REDIS_PREFIX: prefix,
      MODEL_REPOSITORY: repository.dir,
      LOAD_MODELS: 'text-recognizer',
      CPU_COUNT: '1',
      HEARTBEAT_MS: '300',
      LOG_LEVEL: 'warn',
      SWITCHYARD_CONFIG: writeTenantPolicy(repository.dir, MAX),
    };
    const [first, second] = [await spawnGateway(env), await spawnGateway(env)];
    spawned.push(first, second, await spawnWorker({ ...env, LOG_LEVEL: 'info', WORKER_ID: 'limits' }));
    const ready = (url: string) =>
      fetch(`${url}/v2/models/text-recognizer/ready`, { headers: { authorization: `Bearer ${TENANT_KEYS.quiet}` } }).then(
        (r) => r.status === 200,
      );
    await waitFor(async () => (await ready(first.url)) && (await ready(second.url)), 30_000, 'worker ready');
    const url = (gateway: { url: string }) => `${gateway.url}/v2/models/text-recognizer/infer`;
    await expectPriorities(url(first));
    // Slots taken through one gateway count at the other.
    const replies = await Promise.all(
      [first, second, first, second].map((gateway) => timedInfer(url(gateway), TENANT_KEYS.capped, lineRequest(SLOW, 5))),
    );
    expect(count(replies, 200)).toBe(MAX);
    expect(replies.filter((reply) => reply.code === 'concurrency_limited')).toHaveLength(4 - MAX);
    await expectConcurrencyLimit(url(second));
    const redis = testRedis();
    expect(await redis.zcard(redisKeys(prefix).concurrency('capped'))).toBe(0);
    redis.disconnect();
  }, 240_000);

  it("the Redis slot store: concurrent takes on the real store never pass the limit, and a dead holder's lease lapses", async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const redis = testRedis();
    const store = new RedisConcurrencyStore(redis, (tenant) => redisKeys(prefix).concurrency(tenant), 300);
    const taken = await Promise.all(Array.from({ length: 40 }, (_, i) => store.take('t', `r${i}`, 5)));
    expect(taken.filter(Boolean)).toHaveLength(5);
    await store.give('t', `r${taken.indexOf(true)}`);
    await store.give('t', `r${taken.indexOf(true)}`); // a second give changes nothing
    expect(await Promise.all([store.take('t', 'x1', 5), store.take('t', 'x2', 5)])).toEqual([true, false]);
    // Nobody gives the slots back (a gateway died): they lapse with their lease.
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await store.take('t', 'after', 5)).toBe(true);
    redis.disconnect();
  });
});
