import { afterAll, describe, expect, it } from 'vitest';
import { MemoryReviewStore } from '../../gateway/review/memory-review-store.js';
import { RedisReviewStore } from '../../gateway/review/redis-review-store.js';
import type { ReviewItem } from '../../gateway/review/review-item.js';
import type { ReviewStore } from '../../gateway/review/review-store.js';
import { cleanRedis, testPrefix, testRedis } from '../helpers/redis.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';

const prefix = testPrefix();
const redis = testRedis();
/** A second connection: a second gateway claiming the same items. */
const other = testRedis();
afterAll(async () => {
  await cleanRedis(prefix);
  redis.disconnect();
  other.disconnect();
});

function item(id: string, route: string, createdMsAgo: number): ReviewItem {
  return {
    id,
    route,
    tenant: 'acme',
    request_id: `req-${id}`,
    created_at: new Date(Date.now() - createdMsAgo).toISOString(),
    state: 'pending',
    reason: 'low_confidence',
    confidence: 0.2,
    model: 'mlp-classifier',
    version: '1',
    input_ref: { sha256: 'ab', bytes: 2, content_type: 'application/json', body: { inputs: [] } },
    model_output: [{ name: 'probabilities', datatype: 'FP32', shape: [1, 0], data: [] }],
  };
}

const stores: [string, () => ReviewStore][] = [
  ['memory', () => new MemoryReviewStore(3_600_000)],
  ['redis', () => new RedisReviewStore(redis, `${prefix}:${Math.random().toString(36).slice(2, 8)}`, 3_600_000)],
];

/** The same store seen by two gateways: for the memory store, one instance. */
const pairs: [string, () => ReviewStore[]][] = [
  ['memory', () => [new MemoryReviewStore(3_600_000)]],
  [
    'redis',
    () => {
      const own = `${prefix}:${Math.random().toString(36).slice(2, 8)}`;
      return [new RedisReviewStore(redis, own, 3_600_000), new RedisReviewStore(other, own, 3_600_000)];
    },
  ],
];

describe.each(pairs)('%s review store under concurrent claims', (_name, make) => {
  it('of 30 reviewers claiming one item at once through two connections, exactly one wins', async () => {
    const instances = make();
    await instances[0]!.create(item('race', 'a', 0));
    const reviewers = Array.from({ length: 30 }, (_, i) => `reviewer-${i}`);
    const claims = await Promise.all(
      reviewers.map((who, i) => instances[i % instances.length]!.claim('race', who, new Date().toISOString())),
    );
    const winners = claims.filter((c) => c.kind === 'ok');
    expect(winners).toHaveLength(1);
    expect(claims.filter((c) => c.kind === 'conflict')).toHaveLength(reviewers.length - 1);
    const owner = winners[0]!.kind === 'ok' ? winners[0]!.item.claimed_by : undefined;
    expect((await instances[instances.length - 1]!.get('race'))?.claimed_by).toBe(owner);
    // Resolutions race too: only the claimant's lands.
    const resolve = (who: string, i: number) =>
      instances[i % instances.length]!.resolve('race', who, { decision: 'approved', at: new Date().toISOString() });
    const resolutions = await Promise.all(reviewers.map(resolve));
    expect(resolutions.filter((r) => r.kind === 'ok')).toHaveLength(1);
  });
});

describe.each(stores)('%s review store', (_name, make) => {
  it('lists oldest first, filtered by route, state and age', async () => {
    const store = make();
    await store.create(item('old', 'a', 60_000));
    await store.create(item('mid', 'b', 30_000));
    await store.create(item('new', 'a', 1_000));
    expect((await store.list({ limit: 10 })).map((i) => i.id)).toEqual(['old', 'mid', 'new']);
    expect((await store.list({ limit: 10, route: 'a' })).map((i) => i.id)).toEqual(['old', 'new']);
    expect((await store.list({ limit: 10, createdBefore: Date.now() - 10_000 })).map((i) => i.id)).toEqual(['old', 'mid']);
    expect((await store.list({ limit: 10, createdAfter: Date.now() - 45_000 })).map((i) => i.id)).toEqual(['mid', 'new']);
    expect((await store.list({ limit: 1 })).map((i) => i.id)).toEqual(['old']);
    // Empty arrays survive the round trip (they must not turn into objects).
    expect((await store.get('old'))?.model_output[0]?.data).toEqual([]);
    expect(await store.get('nope')).toBeUndefined();
  });

  it('claims atomically and resolves only for the claimant', async () => {
    const store = make();
    await store.create(item('x', 'a', 0));
    const claims = await Promise.all(['ann', 'bob', 'cat'].map((who) => store.claim('x', who, new Date().toISOString())));
    expect(claims.filter((c) => c.kind === 'ok')).toHaveLength(1);
    const winner = claims.find((c) => c.kind === 'ok')!;
    if (winner.kind !== 'ok') throw new Error('unreachable');
    const owner = winner.item.claimed_by!;
    expect(winner.item.state).toBe('claimed');
    expect((await store.claim('x', owner, new Date().toISOString())).kind).toBe('ok');
    const other = owner === 'ann' ? 'bob' : 'ann';
    expect((await store.resolve('x', other, { decision: 'approved', at: new Date().toISOString() })).kind).toBe('conflict');
    const resolved = await store.resolve('x', owner, {
      decision: 'corrected',
      humanOutput: { label: 3, tags: [] },
      at: new Date().toISOString(),
    });
    expect(resolved).toMatchObject({
      kind: 'ok',
      item: { state: 'resolved', resolved_by: owner, decision: 'corrected', human_output: { label: 3, tags: [] } },
    });
    expect((await store.resolve('x', owner, { decision: 'approved', at: new Date().toISOString() })).kind).toBe('conflict');
    expect((await store.claim('x', owner, new Date().toISOString())).kind).toBe('conflict');
    expect((await store.claim('missing', owner, new Date().toISOString())).kind).toBe('not_found');
    expect((await store.resolve('missing', owner, { decision: 'approved', at: '' })).kind).toBe('not_found');
    // Pending items cannot be resolved without a claim.
    await store.create(item('y', 'a', 0));
    expect((await store.resolve('y', owner, { decision: 'approved', at: '' })).kind).toBe('conflict');
  });

  it('attaches an explanation made after the item was filed, whatever its state, and not to an item that is gone', async () => {
    const store = make();
    await store.create(item('e', 'a', 0));
    await store.claim('e', 'ann', new Date().toISOString());
    const explanation = { target: 'probabilities', attributions: [{ shape: [2, 2], data: [0.5, 0, 0, -0.25] }], heatmap_png: 'iVBOR' };
    expect(await store.attachExplanation('e', explanation)).toBe(true);
    expect(await store.get('e')).toMatchObject({ state: 'claimed', claimed_by: 'ann', explanation });
    expect((await store.list({ limit: 10 }))[0]?.explanation).toEqual(explanation);
    expect(await store.attachExplanation('gone', explanation)).toBe(false);
    expect(await store.get('gone')).toBeUndefined();
  });

  it('counts routed requests and created items per route', async () => {
    const store = make();
    await store.countRouted('a');
    await store.countRouted('a');
    await store.create(item('z', 'a', 0));
    expect((await store.counts()).a).toEqual({ routed: 2, created: 1 });
  });
});

it('the Redis store keeps items in Redis with the retention as their expiry', async () => {
  const own = `${prefix}:ttl`;
  await new RedisReviewStore(redis, own, 60_000).create(item('t', 'a', 0));
  const ttl = await redis.pttl(redisKeys(own).reviewItem('t'));
  expect(ttl).toBeGreaterThan(50_000);
  expect(ttl).toBeLessThanOrEqual(60_000);
});
