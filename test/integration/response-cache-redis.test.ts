import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entrySize } from '../../gateway/cache/cache-store.js';
import { RedisCacheStore } from '../../gateway/cache/redis-cache-store.js';
import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { ResponseCache } from '../../gateway/cache/response-cache.js';
import { modelConfigSchema } from '../../workers/repository/model-config.js';
import { PrivateRedis, cleanRedis, freePort, testPrefix, testRedis } from '../helpers/redis.js';

/** The distributed store on the real Redis: two clients stand for two gateways sharing it. */
const prefix = testPrefix();
let a: RedisClient;
let b: RedisClient;

beforeAll(() => {
  a = testRedis('cache-a');
  b = testRedis('cache-b');
});
afterAll(async () => {
  a.disconnect();
  b.disconnect();
  await cleanRedis(prefix);
});

const settings = (maxBytes: number, ttlS = 60) => ({ enabled: true, max_bytes: maxBytes, ttl_s: ttlS, scope: 'tenant' as const });
const entry = (size: number, fill = 7) => Buffer.alloc(size, fill);

/** What the model's keys hold: the byte count, the index, and the entries that exist. */
async function state(model: string) {
  const keys = redisKeys(prefix).responseCache(model);
  const members = await a.zrange(keys.index, 0, -1);
  const present = (
    await Promise.all(members.map(async (member) => ((await a.exists(keys.entryPrefix + member)) === 1 ? member : undefined)))
  ).filter((m) => m !== undefined);
  return { bytes: Number((await a.get(keys.bytes)) ?? 0), members, present };
}

describe('response cache in Redis', () => {
  it('an entry one gateway writes, another reads; bytes count entry and key', async () => {
    const [one, two] = [new RedisCacheStore(a, prefix), new RedisCacheStore(b, prefix)];
    await one.set('shared', 'k1', entry(100, 1), settings(10_000));
    expect(Buffer.from((await two.get('shared', 'k1'))!)).toEqual(entry(100, 1));
    expect(await two.get('shared', 'k2')).toBeUndefined();
    expect((await two.bytes()).get('shared')).toBe(entrySize('k1', entry(100)));
  });

  it('keeps a model within max_bytes across gateways, evicting the least recently used', async () => {
    const [one, two] = [new RedisCacheStore(a, prefix), new RedisCacheStore(b, prefix)];
    const size = entrySize('e0', entry(500));
    const bound = settings(4 * size);
    let clock = 1_000;
    const stores = [new RedisCacheStore(a, prefix, () => clock), new RedisCacheStore(b, prefix, () => clock)];
    for (let i = 0; i < 4; i += 1) {
      clock += 1;
      expect(await stores[i % 2]!.set('bounded', `e${i}`, entry(500), bound)).toBe(0);
    }
    clock += 1;
    expect(await stores[1]!.get('bounded', 'e0')).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the recency write is off the hit's path
    clock += 1;
    expect(await stores[0]!.set('bounded', 'e4', entry(500), bound)).toBe(1);
    expect(await one.get('bounded', 'e1')).toBeUndefined();
    for (const key of ['e0', 'e2', 'e3', 'e4']) expect(await two.get('bounded', key)).toBeDefined();
    const after = await state('bounded');
    expect(after.bytes).toBe(4 * size);
    expect(after.members.sort()).toEqual(['e0', 'e2', 'e3', 'e4']);
    // Too large for the bound: not written at all.
    expect(await one.set('bounded', 'huge', entry(5 * size), bound)).toBe(0);
    expect(await two.get('bounded', 'huge')).toBeUndefined();
  });

  it('stays within the bound under concurrent writes from two gateways, the count equal to what is held', async () => {
    const stores = [new RedisCacheStore(a, prefix), new RedisCacheStore(b, prefix)];
    const size = entrySize('c00', entry(300));
    const bound = settings(10 * size);
    const evicted = await Promise.all(
      Array.from({ length: 60 }, (_, i) => stores[i % 2]!.set('raced', `c${String(i).padStart(2, '0')}`, entry(300), bound)),
    );
    const after = await state('raced');
    expect(after.bytes).toBe(10 * size);
    expect(after.present).toHaveLength(10);
    expect(after.members).toHaveLength(10);
    expect(evicted.reduce((sum, n) => sum + n, 0)).toBe(50);
  });

  it('forgets entries after ttl_s; their index rows go with later writes', async () => {
    const store = new RedisCacheStore(a, prefix);
    await store.set('brief', 'old', entry(50), settings(100_000, 1));
    expect(await store.get('brief', 'old')).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await store.get('brief', 'old')).toBeUndefined();
    await store.set('brief', 'new', entry(50), settings(100_000, 1));
    const after = await state('brief');
    expect(after.members).toEqual(['new']);
    expect(after.bytes).toBe(entrySize('new', entry(50)));
    // The model's bookkeeping keys expire with its entries.
    expect(await a.pttl(redisKeys(prefix).responseCache('brief').index)).toBeGreaterThan(0);
  });
});

describe('response cache when Redis is away', () => {
  it('a lookup is a miss and a write is dropped, reported, never thrown: the request is served as if uncached', async () => {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    // Stopped once (a second stop would wait for an exit that already happened).
    let stopped = false;
    // The gateway's own kind of connection for request-path commands: fails fast, no offline queue.
    const client = testRedis('cache-away', { REDIS_URL: redis.url }, 'serving');
    const errors: unknown[] = [];
    const cache = new ResponseCache(new RedisCacheStore(client, prefix), (error) => errors.push(error));
    const config = modelConfigSchema.parse({
      name: 'm',
      platform: 'onnx',
      versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
      max_batch_size: 8,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [2] }],
      price: { usd_per_compute_second: 0 },
      response_cache: { enabled: true },
    });
    const request = {
      requestId: 'r',
      model: 'm',
      version: '1',
      inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [1, 2], data: Float32Array.from([1, 2]) }],
      outputs: [],
      rows: 1,
      signature: '',
      deadline: 0,
      priority: 0,
    };
    const result = {
      model: 'm',
      version: '1',
      outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [1, 2], data: Float32Array.from([3, 4]) }],
      timings: { queueMs: 1, computeMs: 1, batchSize: 1, batchRows: 1 },
    };
    try {
      if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
      const slot = (await cache.slot(request, config, 'alpha'))!;
      cache.put(slot, result);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect([...(await cache.get(slot))!.result.outputs[0]!.data]).toEqual([3, 4]);
      await redis.stop();
      stopped = true;
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = performance.now();
      expect(await cache.get(slot)).toBeUndefined();
      expect(performance.now() - started).toBeLessThan(5_000);
      cache.put(slot, result);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(errors.length).toBeGreaterThanOrEqual(2);
    } finally {
      client.disconnect();
      if (!stopped) await redis.stop();
    }
  });
});
