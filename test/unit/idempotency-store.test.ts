import { afterAll, describe, expect, it } from 'vitest';
import { MemoryIdempotencyStore, RedisIdempotencyStore, type IdempotencyStore } from '../../gateway/idempotency/idempotency-store.js';
import { whenReady } from '../../workers/queue/redis-connection.js';
import { REDIS_ENV, cleanRedis, testPrefix, testRedis } from '../helpers/redis.js';

/**
 * Exactly-once is decided in begin(): the race is tested there, with many claims in flight
 * at once over two connections (two gateways), not through HTTP where requests arrive
 * milliseconds apart and never overlap the store's check and write.
 */
const prefix = testPrefix();
const connections = [testRedis(), testRedis()];
afterAll(async () => {
  await cleanRedis(prefix);
  for (const redis of connections) redis.disconnect();
});

const CLAIMS = 40;

const stores: [string, () => IdempotencyStore[]][] = [
  ['memory', () => [new MemoryIdempotencyStore()]],
  ['redis', () => connections.map((redis) => new RedisIdempotencyStore(redis, prefix))],
];

describe.each(stores)('%s idempotency store', (_name, make) => {
  it(`of ${CLAIMS} concurrent begin() calls with one key, exactly one starts`, async () => {
    const instances = make();
    const scope = `race-${Math.random().toString(36).slice(2)}`;
    const outcomes = await Promise.all(
      Array.from({ length: CLAIMS }, (_, i) => instances[i % instances.length]!.begin(scope, 'same-body', 60_000)),
    );
    expect(outcomes.filter((o) => o.kind === 'started')).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'in-progress')).toHaveLength(CLAIMS - 1);
  });

  it('after completion every concurrent caller gets the replay; a different body gets mismatch', async () => {
    const instances = make();
    const scope = `done-${Math.random().toString(36).slice(2)}`;
    const first = await instances[0]!.begin(scope, 'body', 60_000);
    if (first.kind !== 'started') throw new Error(`expected started, got ${first.kind}`);
    const response = { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{}').toString('base64') };
    await instances[instances.length - 1]!.complete(scope, first.token, response, 60_000);
    const body = (i: number): string => (i === 0 ? 'other' : 'body');
    const outcomes = await Promise.all(
      Array.from({ length: CLAIMS }, (_, i) => instances[i % instances.length]!.begin(scope, body(i), 60_000)),
    );
    expect(outcomes[0]).toEqual({ kind: 'mismatch' });
    expect(outcomes.slice(1).every((o) => o.kind === 'replay' && o.response.status === 200)).toBe(true);
  });

  it('abandon frees the key for exactly one of the next concurrent callers; a stale token cannot free it', async () => {
    const instances = make();
    const scope = `free-${Math.random().toString(36).slice(2)}`;
    const first = await instances[0]!.begin(scope, 'body', 60_000);
    if (first.kind !== 'started') throw new Error(`expected started, got ${first.kind}`);
    await instances[0]!.abandon(scope, 'not-the-token');
    expect((await instances[0]!.begin(scope, 'body', 60_000)).kind).toBe('in-progress');
    await instances[0]!.abandon(scope, first.token);
    const outcomes = await Promise.all(
      Array.from({ length: CLAIMS }, (_, i) => instances[i % instances.length]!.begin(scope, 'body', 60_000)),
    );
    expect(outcomes.filter((o) => o.kind === 'started')).toHaveLength(1);
  });
});

it('a release that fails while Redis is unreachable is retried, so the key frees itself once Redis is back', async () => {
  // A connection of the gateway's request-path kind (no offline queue): closed, its commands fail at once.
  const flaky = testRedis('switchyard-test-flaky', REDIS_ENV, 'serving');
  await whenReady(flaky, 5_000);
  const store = new RedisIdempotencyStore(flaky, prefix);
  const observer = new RedisIdempotencyStore(connections[0]!, prefix);
  const scope = `acme:outage-${Math.random().toString(36).slice(2)}`;
  const first = await store.begin(scope, 'body', 60_000);
  if (first.kind !== 'started') throw new Error(`expected started, got ${first.kind}`);
  const ended = new Promise((resolve) => flaky.once('end', resolve));
  flaky.disconnect();
  await expect(store.abandon(scope, first.token)).rejects.toThrow();
  expect((await observer.begin(scope, 'body', 60_000)).kind).toBe('in-progress');
  await ended;
  await flaky.connect();
  await whenReady(flaky, 5_000);
  let outcome = await observer.begin(scope, 'body', 60_000);
  for (let i = 0; i < 50 && outcome.kind !== 'started'; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    outcome = await observer.begin(scope, 'body', 60_000);
  }
  expect(outcome.kind).toBe('started');
  flaky.disconnect();
});
