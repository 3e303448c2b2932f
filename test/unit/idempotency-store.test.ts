import { afterAll, describe, expect, it } from 'vitest';
import { MemoryIdempotencyStore, RedisIdempotencyStore, type IdempotencyStore } from '../../gateway/idempotency/idempotency-store.js';
import { cleanRedis, testPrefix, testRedis } from '../helpers/redis.js';

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
    const outcomes = await Promise.all(Array.from({ length: CLAIMS }, (_, i) => instances[i % instances.length]!.begin(scope, 'same-body', 60_000)));
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
    const outcomes = await Promise.all(Array.from({ length: CLAIMS }, (_, i) => instances[i % instances.length]!.begin(scope, i === 0 ? 'other' : 'body', 60_000)));
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
    const outcomes = await Promise.all(Array.from({ length: CLAIMS }, (_, i) => instances[i % instances.length]!.begin(scope, 'body', 60_000)));
    expect(outcomes.filter((o) => o.kind === 'started')).toHaveLength(1);
  });
});
