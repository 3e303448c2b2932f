import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { CACHE_KEYS, cacheBearer, cacheFixture, echoBody } from '../helpers/cache-fixture.js';
import { get, post } from '../helpers/gateway.js';
import { startInProcessCluster, type InProcessCluster } from '../helpers/in-process-cluster.js';
import { metricValue, scrape } from '../helpers/metrics.js';
import { waitFor } from '../helpers/processes.js';
import { REDIS_ENV, testPrefix, testRedis } from '../helpers/redis.js';

/** Two gateways and a worker on one Redis: the cache is theirs together, bounded, and expires. */
const MAX_BYTES = 4096;
const fixture = cacheFixture({ max_bytes: MAX_BYTES, ttl_s: 2 });
const prefix = testPrefix();
const env = { ...fixture.env, ...REDIS_ENV, REDIS_PREFIX: prefix, HEARTBEAT_MS: '200', CPU_COUNT: '1' };
let cluster: InProcessCluster;
let gateways: readonly RunningServer[];

beforeAll(async () => {
  cluster = await startInProcessCluster(fixture.repository.dir, env, 'echo-tenant', cacheBearer(CACHE_KEYS.admin));
  gateways = cluster.gateways;
});
afterAll(async () => {
  await cluster.close();
  fixture.repository.remove();
});

const infer = (gateway: number, model: string, values: readonly number[], key: string = CACHE_KEYS.alpha) =>
  post(`${gateways[gateway]!.url}/v2/models/${model}/infer`, echoBody(values), cacheBearer(key));

/** Rows the worker ran, as the gateways learn it from its heartbeats. */
async function ran(model: string): Promise<number> {
  const stats = (await get(`${gateways[0]!.url}/v2/models/${model}/stats`, cacheBearer(CACHE_KEYS.admin))).json.model_stats as {
    inference_count: number;
  }[];
  return stats.reduce((sum, entry) => sum + entry.inference_count, 0);
}

/** The miss's entry is written after its answer, off its path: the next lookup may come first. */
async function hitOn(gateway: number, model: string, values: readonly number[], key: string = CACHE_KEYS.alpha) {
  let reply = await infer(gateway, model, values, key);
  for (let i = 0; i < 20 && reply.headers.get('x-cache') !== 'hit'; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    reply = await infer(gateway, model, values, key);
  }
  return reply;
}

describe('response cache, distributed (Redis shared by two gateways)', () => {
  it('an answer one gateway ran, the other serves from the cache: nothing queued, nothing run, nothing charged', async () => {
    const miss = await infer(0, 'echo-tenant', [1, 2, 3, 4]);
    expect(miss.headers.get('x-cache')).toBe('miss');
    await waitFor(async () => (await ran('echo-tenant')) >= 1, 5_000, 'statistics');
    const before = await ran('echo-tenant');
    const hit = await infer(1, 'echo-tenant', [1, 2, 3, 4]);
    expect(hit.headers.get('x-cache')).toBe('hit');
    expect(hit.headers.get('x-cost-usd')).toBe('0');
    expect((hit.json.parameters as Record<string, unknown>).cache).toBe('hit');
    expect(hit.json.outputs).toEqual(miss.json.outputs);
    // Heartbeats carry the worker's statistics: give them time to say anything more ran.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await ran('echo-tenant')).toBe(before);
  });

  it('a burst of one new input over both gateways runs the model at most once per gateway', async () => {
    const replies = await Promise.all(Array.from({ length: 16 }, (_, i) => infer(i % 2, 'echo-tenant', [41, 42, 43, 44])));
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    const misses = replies.filter((reply) => reply.headers.get('x-cache') === 'miss').length;
    expect(misses).toBeGreaterThanOrEqual(1);
    expect(misses).toBeLessThanOrEqual(2);
  });

  it("tenant scope across gateways: beta never gets alpha's entry, global scope shares", async () => {
    await infer(0, 'echo-tenant', [5, 6, 7, 8], CACHE_KEYS.alpha);
    expect((await hitOn(1, 'echo-tenant', [5, 6, 7, 8], CACHE_KEYS.alpha)).headers.get('x-cache')).toBe('hit');
    expect((await infer(1, 'echo-tenant', [5, 6, 7, 8], CACHE_KEYS.beta)).headers.get('x-cache')).toBe('miss');
    await infer(0, 'echo-global', [5, 6, 7, 8], CACHE_KEYS.alpha);
    expect((await hitOn(1, 'echo-global', [5, 6, 7, 8], CACHE_KEYS.beta)).headers.get('x-cache')).toBe('hit');
  });

  it('a raw hit (by body) stands for the entry in Redis: once the entry is gone, the body runs again', async () => {
    const values = [71, 72, 73, 74];
    const rawHits = async () =>
      metricValue(await scrape(`${gateways[1]!.url}/metrics`, cacheBearer(CACHE_KEYS.admin)), 'switchyard_response_cache_raw_hits_total', {
        model: 'echo-global',
      });
    await infer(0, 'echo-global', values);
    // The first hit on this gateway is parsed, and keeps the answer by body; the next is a raw hit.
    expect((await hitOn(1, 'echo-global', values)).headers.get('x-cache')).toBe('hit');
    const before = await rawHits();
    const raw = await infer(1, 'echo-global', values);
    expect([raw.headers.get('x-cache'), raw.headers.get('x-cost-usd')]).toEqual(['hit', '0']);
    expect((raw.json.outputs as { data: number[] }[])[0]!.data).toEqual(values);
    expect(await rawHits()).toBe(before + 1);
    // Gone from Redis as an eviction by another gateway (or the TTL) takes it: the raw index must not answer for it.
    const redis = testRedis('cache-check');
    try {
      const keys = redisKeys(prefix).responseCache('echo-global');
      const members = await redis.zrange(keys.index, 0, -1);
      expect(members.length).toBeGreaterThan(0);
      await redis.del(...members.map((member) => keys.entryPrefix + member));
    } finally {
      redis.disconnect();
    }
    expect((await infer(1, 'echo-global', values)).headers.get('x-cache')).toBe('miss');
    expect(await rawHits()).toBe(before + 1);
  });

  it('entries expire after ttl_s', async () => {
    await infer(0, 'echo-tenant', [9, 9, 9, 9]);
    expect((await hitOn(1, 'echo-tenant', [9, 9, 9, 9])).headers.get('x-cache')).toBe('hit');
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect((await infer(1, 'echo-tenant', [9, 9, 9, 9])).headers.get('x-cache')).toBe('miss');
  });

  it('many distinct answers from both gateways keep the model within max_bytes in Redis, evicting', async () => {
    const replies = await Promise.all(Array.from({ length: 60 }, (_, i) => infer(i % 2, 'echo-global', [i, i + 1, i + 2, 1000])));
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    const redis = testRedis('cache-check');
    try {
      const keys = redisKeys(prefix).responseCache('echo-global');
      await waitFor(async () => (await redis.zcard(keys.index)) > 0, 2_000, 'entries written');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const bytes = Number(await redis.get(keys.bytes));
      expect(bytes).toBeGreaterThan(0);
      expect(bytes).toBeLessThanOrEqual(MAX_BYTES);
    } finally {
      redis.disconnect();
    }
    const evictions = async () => {
      let sum = 0;
      for (const gateway of gateways)
        sum += metricValue(
          await scrape(`${gateway.url}/metrics`, cacheBearer(CACHE_KEYS.admin)),
          'switchyard_response_cache_evictions_total',
          { model: 'echo-global' },
        );
      return sum;
    };
    expect(await evictions()).toBeGreaterThan(0);
    const samples = await scrape(`${gateways[1]!.url}/metrics`, cacheBearer(CACHE_KEYS.admin));
    expect(metricValue(samples, 'switchyard_response_cache_bytes', { model: 'echo-global' })).toBeLessThanOrEqual(MAX_BYTES);
  });

  it('a failed answer is not kept: the failing request fails again on the other gateway', async () => {
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] };
    for (const gateway of [0, 1]) {
      const reply = await post(`${gateways[gateway]!.url}/v2/models/reshape/infer`, body, cacheBearer(CACHE_KEYS.alpha));
      expect(reply.status).toBeGreaterThanOrEqual(500);
      expect(reply.headers.get('x-cache')).toBeNull();
    }
    const redis = testRedis('cache-check');
    try {
      expect(await redis.zcard(redisKeys(prefix).responseCache('reshape').index)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });

  it('a task on one gateway reuses the answer an inference on the other ran', async () => {
    await infer(0, 'echo-tenant', [21, 22, 23, 24]);
    expect((await hitOn(1, 'echo-tenant', [21, 22, 23, 24])).headers.get('x-cache')).toBe('hit');
    const task = await post(
      `${gateways[1]!.url}/v1/tasks/echo-task`,
      { inputs: { value: { datatype: 'FP32', shape: [1, 4], data: [21, 22, 23, 24] } } },
      cacheBearer(CACHE_KEYS.alpha),
    );
    expect(task.status).toBe(200);
    expect((task.json.result as { cost_usd: number }).cost_usd).toBe(0);
  });
});
