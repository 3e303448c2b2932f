import { describe, expect, it } from 'vitest';
import { decodeEntry, encodeEntry } from '../../gateway/cache/cache-entry.js';
import { cacheKey } from '../../gateway/cache/cache-key.js';
import { entrySize } from '../../gateway/cache/cache-store.js';
import { MemoryCacheStore } from '../../gateway/cache/memory-cache-store.js';
import { ResponseCache } from '../../gateway/cache/response-cache.js';
import { tensorFromBytes } from '../../gateway/protocol/parse-infer-request.js';
import { parseInferRequest } from '../../gateway/protocol/parse-infer-request.js';
import type { ValidInferRequest } from '../../workers/protocol/inference.js';
import type { Tensor } from '../../workers/protocol/tensor.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { modelConfigSchema } from '../../workers/repository/model-config.js';

const settings = (maxBytes: number, ttlS = 60) => ({ enabled: true, max_bytes: maxBytes, ttl_s: ttlS, scope: 'tenant' as const });

const request = (inputs: readonly Tensor[], extra: Partial<ValidInferRequest> = {}): ValidInferRequest => ({
  requestId: 'r',
  model: 'm',
  version: '1',
  inputs,
  outputs: [],
  rows: 1,
  signature: '',
  deadline: 0,
  priority: 0,
  ...extra,
});

const config = modelConfigSchema.parse({
  name: 'm',
  response_cache: { enabled: false },
  platform: 'onnx',
  versions: { '1': { weights: { source: 'file', path: 'model.onnx' } }, '2': { weights: { source: 'file', path: 'model.onnx' } } },
  max_batch_size: 8,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [3] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [2] }],
  price: { usd_per_compute_second: 0 },
});

describe('cache key', () => {
  const json = (data: unknown, datatype = 'FP32') =>
    parseInferRequest(Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype, shape: [1, 3], data }] })), Buffer.alloc(0)).inputs;
  const alpha = { kind: 'tenant', tenant: 'alpha' } as const;

  it('is the same for a tensor sent as JSON numbers and as raw bytes (binary extension, gRPC)', async () => {
    const raw = tensorFromBytes('x', 'FP32', [1, 3], new Uint8Array(Float32Array.from([0.1, 2, -3]).buffer));
    expect(await cacheKey(request(json([0.1, 2, -3])), alpha, ['y'], config)).toBe(await cacheKey(request([raw]), alpha, ['y'], config));
    // Nested JSON data is the same tensor as flat data.
    expect(await cacheKey(request(json([[0.1, 2, -3]])), alpha, ['y'], config)).toBe(await cacheKey(request([raw]), alpha, ['y'], config));
    const strings = tensorFromBytes('x', 'BYTES', [1, 3], Buffer.from([1, 0, 0, 0, 97, 0, 0, 0, 0, 2, 0, 0, 0, 98, 99]));
    expect(await cacheKey(request(json(['a', '', 'bc'], 'BYTES')), alpha, [], config)).toBe(
      await cacheKey(request([strings]), alpha, [], config),
    );
  });

  it('differs with the inputs, their order aside; the version; the outputs asked; the tenant', async () => {
    const base = await cacheKey(request(json([1, 2, 3])), alpha, ['y'], config);
    expect(await cacheKey(request(json([1, 2, 4])), alpha, ['y'], config)).not.toBe(base);
    expect(await cacheKey(request(json([1, 2, 3]), { version: '2' }), alpha, ['y'], config)).not.toBe(base);
    expect(await cacheKey(request(json([1, 2, 3])), alpha, ['y', 'z'], config)).not.toBe(base);
    expect(await cacheKey(request(json([1, 2, 3])), { kind: 'tenant', tenant: 'beta' }, ['y'], config)).not.toBe(base);
    expect(await cacheKey(request(json([1, 2, 3])), { kind: 'global' }, ['y'], config)).not.toBe(base);
    // Same bytes, another shape or datatype: another tensor.
    const reshaped = tensorFromBytes('x', 'FP32', [3, 1], new Uint8Array(Float32Array.from([1, 2, 3]).buffer));
    expect(await cacheKey(request([reshaped]), alpha, ['y'], config)).not.toBe(base);
    // A reloaded config that changes what shapes answers (weights, tensors) gives new keys; batching or price does not.
    const reweighted = modelConfigSchema.parse({
      ...config,
      versions: { ...config.versions, '1': { weights: { source: 'file', path: 'other.onnx' } } },
    });
    expect(await cacheKey(request(json([1, 2, 3])), alpha, ['y'], reweighted)).not.toBe(base);
    const repriced = modelConfigSchema.parse({
      ...config,
      price: { usd_per_compute_second: 1 },
      dynamic_batching: { max_queue_delay_ms: 9 },
    });
    expect(await cacheKey(request(json([1, 2, 3])), alpha, ['y'], repriced)).toBe(base);
    const a = tensorFromBytes('a', 'INT32', [1], new Uint8Array(Int32Array.from([1]).buffer));
    const b = tensorFromBytes('b', 'INT32', [1], new Uint8Array(Int32Array.from([2]).buffer));
    expect(await cacheKey(request([a, b]), alpha, ['y', 'z'], config)).toBe(await cacheKey(request([b, a]), alpha, ['z', 'y'], config));
  });
});

describe('cache entry', () => {
  const owner = { model: 'm', version: '1', scope: 't:alpha' };
  const outputs: Tensor[] = [
    { name: 'y', datatype: 'FP32', shape: [1, 2], data: Float32Array.from([1.5, -2]) },
    { name: 'label', datatype: 'BYTES', shape: [1], data: new Uint8Array([3, 0, 0, 0, 99, 97, 116]) },
  ];

  it('round-trips outputs into buffers of their own, and refuses another owner or damaged bytes', () => {
    const entry = encodeEntry(owner, outputs);
    const decoded = decodeEntry(entry, owner)!;
    expect(decoded.map((t) => [t.name, t.datatype, t.shape, [...t.data]])).toEqual(
      outputs.map((t) => [t.name, t.datatype, t.shape, [...t.data]]),
    );
    expect(decoded[0]!.data.buffer).not.toBe(decoded[1]!.data.buffer);
    expect(decoded[0]!.data.buffer).not.toBe(entry.buffer);
    expect(decodeEntry(entry, { ...owner, scope: 't:beta' })).toBeUndefined();
    expect(decodeEntry(entry, { ...owner, version: '2' })).toBeUndefined();
    expect(decodeEntry(entry.subarray(0, entry.length - 1), owner)).toBeUndefined();
    expect(decodeEntry(Buffer.from([255, 255, 255, 255, 1]), owner)).toBeUndefined();
  });
});

describe('memory store', () => {
  const entry = (size: number) => Buffer.alloc(size, 7);

  it('keeps the bytes of its entries within max_bytes, evicting the least recently used', async () => {
    const store = new MemoryCacheStore();
    const one = entrySize('a', entry(400));
    const bound = settings(3 * one);
    for (const key of ['a', 'b', 'c']) expect(await store.set('m', key, entry(400), bound)).toBe(0);
    await store.get('m', 'a');
    // "b" is now the least recently used.
    expect(await store.set('m', 'd', entry(400), bound)).toBe(1);
    expect(await store.get('m', 'b')).toBeUndefined();
    for (const key of ['a', 'c', 'd']) expect(await store.get('m', key)).toBeDefined();
    expect((await store.bytes()).get('m')).toBe(3 * one);
    // A bigger entry pushes out as many as it needs, least recently used first.
    await store.get('m', 'a');
    expect(await store.set('m', 'e', entry(800), bound)).toBe(2);
    expect(await store.get('m', 'a')).toBeDefined();
    expect(await store.get('m', 'c')).toBeUndefined();
    expect(await store.set('m', 'g', entry(900), bound)).toBe(2);
    expect((await store.bytes()).get('m')).toBe(entrySize('g', entry(900)));
    // An entry larger than the bound is not kept, and costs nothing.
    expect(await store.set('m', 'f', entry(5000), bound)).toBe(0);
    expect(await store.get('m', 'f')).toBeUndefined();
    expect(await store.get('m', 'g')).toBeDefined();
  });

  it('forgets an entry after ttl_s, and models have bounds of their own', async () => {
    let now = 1_000_000;
    const store = new MemoryCacheStore(() => now);
    await store.set('m', 'a', entry(10), settings(4096, 2));
    await store.set('other', 'a', entry(10), settings(4096, 60));
    now += 1999;
    expect(await store.get('m', 'a')).toBeDefined();
    now += 2;
    expect(await store.get('m', 'a')).toBeUndefined();
    expect(await store.get('other', 'a')).toBeDefined();
    expect((await store.bytes()).get('m')).toBe(0);
  });
});

describe('Redis key layout', () => {
  it("puts a model's entries and bookkeeping in one Cluster slot (the eviction script touches them together); models spread", async () => {
    // ioredis's own slot function (CRC16 of the hash tag), as Cluster computes it.
    const { default: slot } = (await import('cluster-key-slot')) as unknown as { default: (key: string) => number };
    const keys = redisKeys('switchyard').responseCache('mlp-classifier');
    const slots = new Set([keys.index, keys.sizes, keys.bytes, `${keys.entryPrefix}abc`, `${keys.entryPrefix}xyz`].map(slot));
    expect(slots.size).toBe(1);
    const models = ['mlp-classifier', 'recognizer', 'moderation', 'detector'].map((model) =>
      slot(redisKeys('switchyard').responseCache(model).index),
    );
    expect(new Set(models).size).toBeGreaterThan(1);
    expect(keys.index.startsWith('switchyard:')).toBe(true);
  });
});

describe('what is kept', () => {
  const twoOutputs = modelConfigSchema.parse({
    ...config,
    response_cache: { enabled: true },
    outputs: [
      { name: 'y', datatype: 'FP32', shape: [2] },
      { name: 'z', datatype: 'FP32', shape: [1] },
    ],
  });
  const input = tensorFromBytes('x', 'FP32', [2, 3], new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer));
  const timings = { queueMs: 1, computeMs: 2, batchSize: 1, batchRows: 2 };
  const y = { name: 'y', datatype: 'FP32' as const, shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) };
  const z = { name: 'z', datatype: 'FP32' as const, shape: [2, 1], data: Float32Array.from([5, 6]) };

  it('only whole answers: every output asked for, every row of the request, the version asked', async () => {
    const cache = new ResponseCache(new MemoryCacheStore(), () => undefined);
    const slot = (await cache.slot(request([input], { rows: 2 }), twoOutputs, 'alpha'))!;
    cache.put(slot, { model: 'm', version: '1', outputs: [y], timings });
    cache.put(slot, {
      model: 'm',
      version: '1',
      outputs: [
        { ...y, shape: [1, 2], data: Float32Array.from([1, 2]) },
        { ...z, shape: [1, 1], data: Float32Array.from([5]) },
      ],
      timings,
    });
    cache.put(slot, { model: 'm', version: '2', outputs: [y, z], timings });
    await new Promise((resolve) => setImmediate(resolve));
    expect(await cache.get(slot)).toBeUndefined();
    cache.put(slot, { model: 'm', version: '1', outputs: [y, z], timings });
    await new Promise((resolve) => setImmediate(resolve));
    const hit = (await cache.get(slot))!.result;
    expect(hit.outputs.map((t) => [t.name, [...t.data]])).toEqual([
      ['y', [1, 2, 3, 4]],
      ['z', [5, 6]],
    ]);
    expect(hit.timings).toEqual({ queueMs: 0, computeMs: 0, batchSize: 0, batchRows: 0 });
    // A model that does not cache has no slot.
    expect(await cache.slot(request([input]), config, 'alpha')).toBeUndefined();
  });
});

describe('large inputs', () => {
  it('hashed on the thread pool, still key by their bytes: equal bytes one key, one byte changed another', async () => {
    const big = new Float32Array(1024 * 1024).map((_, i) => Math.sin(i));
    const tensorOf = (values: Float32Array) => tensorFromBytes('x', 'FP32', [1, values.length], new Uint8Array(values.buffer));
    const scope = { kind: 'global' } as const;
    const key = await cacheKey(request([tensorOf(big)]), scope, ['y'], config);
    expect(await cacheKey(request([tensorOf(big.slice())]), scope, ['y'], config)).toBe(key);
    const changed = big.slice();
    changed[big.length - 1] = 2;
    expect(await cacheKey(request([tensorOf(changed)]), scope, ['y'], config)).not.toBe(key);
  });
});

describe('raw index (answers by request body)', () => {
  const answer = (bytes: number) => ({
    model: 'm',
    version: '1',
    tier: 'direct',
    escalated: false,
    rows: 1,
    askedPriority: undefined,
    encode: () => ({ headers: {}, body: '' }),
    bytes,
  });
  const slotFor = (key: string, maxBytes: number) => ({
    model: 'm',
    key,
    owner: { model: 'm', version: '1', scope: 'global' },
    settings: settings(maxBytes),
    outputs: ['y'],
  });

  it('answers only while the entry it came from is in the store, the same bytes; a rewritten entry ends it', async () => {
    const store = new MemoryCacheStore();
    const cache = new ResponseCache(store, () => undefined);
    const slot = slotFor('k', 1 << 20);
    const entry = Buffer.from('entry bytes');
    await store.set('m', 'k', entry, slot.settings);
    cache.raw.set('m', 'raw-1', [{ slot, entry }], answer(10));
    expect((await cache.raw.get('m', 'raw-1'))?.version).toBe('1');
    // The same key answered again (an entry that expired and ran again): not the bytes the raw entry stands for.
    await store.set('m', 'k', Buffer.from('other bytes'), slot.settings);
    expect(await cache.raw.get('m', 'raw-1')).toBeUndefined();
    // Dropped on that miss: the old bytes back do not bring it back.
    await store.set('m', 'k', entry, slot.settings);
    expect(await cache.raw.get('m', 'raw-1')).toBeUndefined();
  });

  it("keeps a model's raw entries within max_bytes, least recently used out first", async () => {
    const store = new MemoryCacheStore();
    const cache = new ResponseCache(store, () => undefined);
    const slot = slotFor('k', 2_000);
    const entry = Buffer.from('entry');
    await store.set('m', 'k', entry, slot.settings);
    for (const key of ['a', 'b', 'c', 'd']) cache.raw.set('m', key, [{ slot, entry }], answer(600));
    expect(cache.raw.bytes().get('m')).toBeLessThanOrEqual(2_000);
    expect(await cache.raw.get('m', 'a')).toBeUndefined();
    expect(await cache.raw.get('m', 'd')).toBeDefined();
  });
});
