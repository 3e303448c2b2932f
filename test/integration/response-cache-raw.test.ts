import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import type { RunningServer } from '../../gateway/server.js';
import { cacheBearer } from '../helpers/cache-fixture.js';
import { get, post } from '../helpers/gateway.js';
import { startTestGateway } from '../helpers/gateway.js';
import { buildIdentityModel } from '../helpers/identity-model.js';
import { metricValue, scrape } from '../helpers/metrics.js';
import { TestRepository } from '../helpers/repository.js';
import { lineRequest, timedInfer } from '../helpers/tenant-traffic.js';

/**
 * Embedded mode: raw hits, the cache answering a body it answered before without parsing it.
 * Each test tells a raw hit from a parsed one by the raw hits counter, and checks that what a
 * raw hit sends is what the parsed path sends, and that it never crosses a tenant, a version
 * or a tier the parsed path would not have crossed.
 */
const KEYS = {
  admin: 'raw-admin',
  alpha: 'raw-alpha',
  beta: 'raw-beta',
  strict: 'raw-strict',
  clamped: 'raw-clamped',
  single: 'raw-single',
};
const weights = { model: buildIdentityModel([{ name: 'x', datatype: 'FP32', dims: ['batch', 4] }]) };
const echo = (cache: Record<string, unknown>, versions: readonly string[] = ['1']) => ({
  platform: 'onnx',
  versions: Object.fromEntries(versions.map((version) => [version, { weights: { source: 'file', path: 'model.onnx' } }])),
  version_policy: { specific: { versions: versions.map(Number) } },
  default_version: versions[0],
  max_batch_size: 8,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
  outputs: [{ name: 'out_x', datatype: 'FP32', shape: [4] }],
  price: { usd_per_compute_second: 0, usd_per_request: 0.001 },
  response_cache: cache,
});
const files = (versions: readonly string[]) => Object.fromEntries(versions.map((version) => [`${version}/model.onnx`, weights.model]));

const repository = new TestRepository()
  .add('echo-tenant', echo({ enabled: true, scope: 'tenant' }), files(['1']))
  .add('echo-global', echo({ enabled: true, scope: 'global' }), files(['1']))
  .add('echo-brief', echo({ enabled: true, scope: 'global', ttl_s: 1 }), files(['1']))
  .add('echo-versions', echo({ enabled: true, scope: 'global' }, ['1', '2']), files(['1', '2']))
  // A wide text line runs for a while: a call that holds its tenant's one slot.
  .copy('text-recognizer');
const tenant = (name: string, key: string, extra: Record<string, unknown> = {}) => ({ name, keys: [{ sha256: hashKey(key) }], ...extra });
const policy = {
  tenants: [
    tenant('ops', KEYS.admin, { role: 'admin' }),
    tenant('alpha', KEYS.alpha),
    tenant('beta', KEYS.beta),
    tenant('strict', KEYS.strict, { priority: 5, max_priority: 5, priority_strict: true }),
    tenant('clamped', KEYS.clamped, { priority: 5, max_priority: 5 }),
    tenant('single', KEYS.single, { max_concurrency: 1 }),
  ],
  routes: [
    {
      name: 'echo-canary',
      tiers: [
        { name: 'stable', model: 'echo-versions', version: '1' },
        { name: 'canary', model: 'echo-versions', version: '2' },
      ],
      policy: { type: 'weighted', weights: { stable: 50, canary: 50 } },
      tier_header: true,
    },
    { name: 'echo-latest', tiers: [{ name: 'only', model: 'echo-versions' }], policy: { type: 'cascade', output: 'out_x', threshold: 0 } },
  ],
};
const configFile = join(repository.dir, 'switchyard.yaml');
writeFileSync(configFile, stringify(policy));
let server: RunningServer;

beforeAll(async () => {
  server = await startTestGateway(repository.dir, { SWITCHYARD_CONFIG: configFile });
});
afterAll(async () => {
  await server.close();
  repository.remove();
});

const body = (values: readonly number[], extra: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [...values] }],
  ...extra,
});
const infer = (name: string, payload: unknown, key: string = KEYS.alpha, headers: Record<string, string> = {}) =>
  post(`${server.url}/v2/models/${name}/infer`, payload, { ...cacheBearer(key), ...headers });

/** The same tensor in the binary extension. */
async function inferBinary(name: string, values: readonly number[], key: string = KEYS.alpha) {
  const data = Buffer.from(Float32Array.from(values).buffer);
  const header = Buffer.from(
    JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: data.byteLength } }] }),
  );
  return post(`${server.url}/v2/models/${name}/infer`, Buffer.concat([header, data]), {
    ...cacheBearer(key),
    'content-type': 'application/octet-stream',
    'inference-header-content-length': String(header.length),
  });
}

async function metric(name: string, model: string): Promise<number> {
  return metricValue(await scrape(`${server.url}/metrics`, cacheBearer(KEYS.admin)), name, { model });
}
const rawHits = (model: string) => metric('switchyard_response_cache_raw_hits_total', model);

/** Rows a version's instances ran (the statistics endpoint: what the runtime really did). */
async function ran(model: string, version: string): Promise<number> {
  const stats = (await get(`${server.url}/v2/models/${model}/versions/${version}/stats`, cacheBearer(KEYS.admin))).json.model_stats as {
    inference_count: number;
  }[];
  return stats.reduce((sum, entry) => sum + entry.inference_count, 0);
}

/** What differs from call to call in an answer: its ids (trace too) and server time. */
function withoutCallFacts(reply: { headers: Headers; json: Record<string, unknown> }) {
  const headers = Object.fromEntries(
    [...reply.headers].filter(([name]) => !['x-request-id', 'x-server-ms', 'traceparent', 'date', 'content-length'].includes(name)),
  );
  const { request_id: _id, server_ms: _ms, ...parameters } = reply.json.parameters as Record<string, unknown>;
  return { headers, json: { ...reply.json, parameters } };
}

describe('response cache, raw hits (by request body, before parsing)', () => {
  it('a body asking for a classification gets it on the miss, the parsed hit and the raw hit; the plain body gets the tensor', async () => {
    const before = await rawHits('echo-global');
    const values = [0.25, 9, -1, 9];
    const asked = body(values, { outputs: [{ name: 'out_x', parameters: { classification: 2 } }] });
    const answers = [];
    for (let call = 0; call < 3; call += 1) answers.push(await infer('echo-global', asked));
    expect(answers.map((answer) => answer.headers.get('x-cache'))).toEqual(['miss', 'hit', 'hit']);
    expect(await rawHits('echo-global')).toBe(before + 1);
    for (const answer of answers)
      expect(answer.json.outputs).toEqual([{ name: 'out_x', datatype: 'BYTES', shape: [1, 2], data: ['9.000000:1', '9.000000:3'] }]);
    // The cache holds the model's tensor: the same input without the parameter is a hit with the numbers.
    const plain = await infer('echo-global', body(values));
    expect(plain.headers.get('x-cache')).toBe('hit');
    expect(plain.json.outputs).toEqual([{ name: 'out_x', datatype: 'FP32', shape: [1, 4], data: values }]);
  });

  it('the third identical body is a raw hit: the same answer, headers and body, as the parsed hit; nothing run or charged', async () => {
    const before = { raw: await rawHits('echo-tenant'), ran: await ran('echo-tenant', '1') };
    const payload = body([1, 2, 3, 4], { id: 'call-7', parameters: { priority: 3 } });
    const miss = await infer('echo-tenant', payload);
    const parsedHit = await infer('echo-tenant', payload);
    expect([miss.headers.get('x-cache'), parsedHit.headers.get('x-cache')]).toEqual(['miss', 'hit']);
    expect(await rawHits('echo-tenant')).toBe(before.raw);
    const rawHit = await infer('echo-tenant', payload);
    expect(rawHit.status).toBe(200);
    expect(await rawHits('echo-tenant')).toBe(before.raw + 1);
    expect(withoutCallFacts(rawHit)).toEqual(withoutCallFacts(parsedHit));
    expect(rawHit.headers.get('x-cache')).toBe('hit');
    expect(rawHit.headers.get('x-cost-usd')).toBe('0');
    expect(rawHit.json).toMatchObject({ id: 'call-7', model_version: '1', parameters: { cache: 'hit', priority: 3 } });
    expect(rawHit.headers.get('x-request-id')).not.toBe(parsedHit.headers.get('x-request-id'));
    expect((rawHit.json.outputs as { data: number[] }[])[0]!.data).toEqual([1, 2, 3, 4]);
    expect(await ran('echo-tenant', '1')).toBe(before.ran + 1);
  });

  it('the same tensor in the other encoding is a parsed (canonical) hit of the same entry, then a raw hit of its own', async () => {
    const values = [0.5, -1, 7, 2.25];
    const before = { raw: await rawHits('echo-tenant'), ran: await ran('echo-tenant', '1') };
    await infer('echo-tenant', body(values));
    await infer('echo-tenant', body(values));
    expect((await infer('echo-tenant', body(values))).headers.get('x-cache')).toBe('hit');
    expect(await rawHits('echo-tenant')).toBe(before.raw + 1);
    const binaryCanonical = await inferBinary('echo-tenant', values);
    expect(binaryCanonical.headers.get('x-cache')).toBe('hit');
    expect(await rawHits('echo-tenant')).toBe(before.raw + 1);
    const binaryRaw = await inferBinary('echo-tenant', values);
    expect(binaryRaw.headers.get('x-cache')).toBe('hit');
    expect((binaryRaw.json.outputs as { data: number[] }[])[0]!.data).toEqual(values);
    expect(await rawHits('echo-tenant')).toBe(before.raw + 2);
    expect(await ran('echo-tenant', '1')).toBe(before.ran + 1);
  });

  it('a large body (its bytes hashed on the thread pool) is a raw hit too, a byte changed is not', async () => {
    const id = 'q'.repeat(400_000);
    const before = await rawHits('echo-global');
    for (let i = 0; i < 3; i += 1) expect((await infer('echo-global', body([5, 4, 3, 2], { id }))).json.id).toBe(id);
    expect(await rawHits('echo-global')).toBe(before + 1);
    const changed = await infer('echo-global', body([5, 4, 3, 2], { id: `${id.slice(1)}r` }));
    expect(changed.headers.get('x-cache')).toBe('hit');
    expect(changed.json.id).toBe(`${id.slice(1)}r`);
    expect(await rawHits('echo-global')).toBe(before + 1);
  });

  it('binary outputs: a raw hit writes the binary section and its header length right', async () => {
    const payload = body([9, 8, 7, 6], { outputs: [{ name: 'out_x', parameters: { binary_data: true } }] });
    const send = () =>
      fetch(`${server.url}/v2/models/echo-global/infer`, {
        method: 'POST',
        headers: { ...cacheBearer(KEYS.alpha), 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
    const before = await rawHits('echo-global');
    for (let i = 0; i < 3; i += 1) {
      const response = await send();
      const bytes = Buffer.from(await response.arrayBuffer());
      const length = Number(response.headers.get('inference-header-content-length'));
      const header = JSON.parse(bytes.toString('utf8', 0, length)) as { parameters: { cache: string } };
      expect(header.parameters.cache).toBe(i === 0 ? 'miss' : 'hit');
      const tail = bytes.subarray(length);
      expect([...new Float32Array(tail.buffer.slice(tail.byteOffset, tail.byteOffset + tail.byteLength))]).toEqual([9, 8, 7, 6]);
    }
    expect(await rawHits('echo-global')).toBe(before + 1);
  });

  it('tenant scope: another tenant sending the same bytes is a miss (its own entry), never the raw hit of the first', async () => {
    const payload = body([11, 12, 13, 14]);
    for (let i = 0; i < 3; i += 1) await infer('echo-tenant', payload, KEYS.alpha);
    const before = await ran('echo-tenant', '1');
    expect((await infer('echo-tenant', payload, KEYS.beta)).headers.get('x-cache')).toBe('miss');
    expect(await ran('echo-tenant', '1')).toBe(before + 1);
    // Global scope shares the answer, and a raw entry made by one tenant serves the other.
    for (let i = 0; i < 3; i += 1) await infer('echo-global', payload, KEYS.alpha);
    const raw = await rawHits('echo-global');
    expect((await infer('echo-global', payload, KEYS.beta)).headers.get('x-cache')).toBe('hit');
    expect(await rawHits('echo-global')).toBe(raw + 1);
  });

  it("the tenant's priority policy holds on a raw hit: clamped, or refused under priority_strict", async () => {
    const payload = body([3, 3, 3, 3], { parameters: { priority: 0 } });
    for (let i = 0; i < 3; i += 1) await infer('echo-global', payload, KEYS.alpha);
    const raw = await rawHits('echo-global');
    const clamped = await infer('echo-global', payload, KEYS.clamped);
    expect(clamped.headers.get('x-cache')).toBe('hit');
    expect(clamped.headers.get('x-priority')).toBe('5');
    expect((clamped.json.parameters as { priority: number }).priority).toBe(5);
    expect(await infer('echo-global', payload, KEYS.strict)).toMatchObject({ status: 403, json: { code: 'priority_not_allowed' } });
    expect(await rawHits('echo-global')).toBe(raw + 1);
  });

  it('a model named without a version: after its default version changes, the same body runs the new version', async () => {
    const payload = body([21, 22, 23, 24]);
    for (const name of ['echo-versions', 'echo-latest']) {
      for (let i = 0; i < 3; i += 1) expect((await infer(name, payload)).json.model_version).toBe('1');
    }
    expect(await rawHits('echo-versions')).toBeGreaterThanOrEqual(2);
    const configPath = join(repository.dir, 'echo-versions', 'config.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(configPath, JSON.stringify({ ...config, default_version: '2' }));
    try {
      const load = await post(`${server.url}/v2/repository/models/echo-versions/load`, {}, cacheBearer(KEYS.admin));
      expect(load.status).toBe(200);
      const before = await ran('echo-versions', '2');
      const direct = await infer('echo-versions', payload);
      expect([direct.json.model_version, direct.headers.get('x-cache')]).toEqual(['2', 'miss']);
      const routed = await infer('echo-latest', payload);
      expect([routed.json.model_version, routed.headers.get('x-cache')]).toEqual(['2', 'hit']);
      expect(await ran('echo-versions', '2')).toBe(before + 1);
      // Pinned to version 1 by path: still version 1's answer.
      const pinned = await post(`${server.url}/v2/models/echo-versions/versions/1/infer`, payload, cacheBearer(KEYS.alpha));
      expect([pinned.json.model_version, pinned.headers.get('x-cache')]).toEqual(['1', 'hit']);
    } finally {
      writeFileSync(configPath, JSON.stringify(config));
      await post(`${server.url}/v2/repository/models/echo-versions/load`, {}, cacheBearer(KEYS.admin));
    }
  });

  it("a canary route: every answer is its tier's version's, raw hit or not; X-Tier picks the tier", async () => {
    const payload = body([31, 32, 33, 34]);
    const raw = await rawHits('echo-versions');
    const seen = new Set<string>();
    for (let i = 0; i < 40; i += 1) {
      const reply = await infer('echo-canary', payload);
      const tier = reply.headers.get('x-tier')!;
      seen.add(tier);
      expect(reply.json.model_version).toBe(tier === 'stable' ? '1' : '2');
    }
    expect(seen).toEqual(new Set(['stable', 'canary']));
    expect(await rawHits('echo-versions')).toBeGreaterThan(raw + 20);
    for (const [tier, version] of [
      ['canary', '2'],
      ['stable', '1'],
    ] as const) {
      for (let i = 0; i < 3; i += 1) {
        const reply = await infer('echo-canary', payload, KEYS.alpha, { 'x-tier': tier });
        expect([reply.headers.get('x-tier'), reply.json.model_version, reply.headers.get('x-cache')]).toEqual([tier, version, 'hit']);
      }
    }
  });

  it('a raw entry lasts no longer than the entry it stands for: after ttl_s the body runs again', async () => {
    const payload = body([41, 42, 43, 44]);
    const states = [];
    for (let i = 0; i < 3; i += 1) states.push((await infer('echo-brief', payload)).headers.get('x-cache'));
    expect(states).toEqual(['miss', 'hit', 'hit']);
    expect(await rawHits('echo-brief')).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await infer('echo-brief', payload)).headers.get('x-cache')).toBe('miss');
    expect(await rawHits('echo-brief')).toBe(1);
  });

  it('idempotency: a raw hit with a key is kept for replays, and the key refuses another body', async () => {
    const payload = body([51, 52, 53, 54]);
    for (let i = 0; i < 2; i += 1) await infer('echo-global', payload);
    const raw = await rawHits('echo-global');
    const first = await infer('echo-global', payload, KEYS.alpha, { 'idempotency-key': 'raw-key-1' });
    expect(first.headers.get('x-cache')).toBe('hit');
    expect(await rawHits('echo-global')).toBe(raw + 1);
    const replay = await infer('echo-global', payload, KEYS.alpha, { 'idempotency-key': 'raw-key-1' });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json).toEqual(first.json);
    const other = await infer('echo-global', body([1, 1, 1, 1]), KEYS.alpha, { 'idempotency-key': 'raw-key-1' });
    expect(other).toMatchObject({ status: 422, json: { code: 'idempotency_key_reused' } });
  });

  it('a raw hit counts toward max_concurrency (429 while the tenant holds its one slot) and is audited as cached', async () => {
    const payload = body([61, 62, 63, 64]);
    for (let i = 0; i < 3; i += 1) await infer('echo-global', payload, KEYS.single);
    const raw = await rawHits('echo-global');
    // While a wide line holds the tenant's one slot, the same body is refused; the line may take a moment to be read.
    const slow = timedInfer(`${server.url}/v2/models/text-recognizer/infer`, KEYS.single, lineRequest(3200, 3));
    let done = false;
    void slow.finally(() => {
      done = true;
    });
    const refused: string[] = [];
    while (!done && refused.length === 0) {
      const reply = await infer('echo-global', payload, KEYS.single);
      if (reply.status === 429) refused.push(String(reply.json.code));
    }
    expect(refused).toEqual(['concurrency_limited']);
    expect((await slow).status).toBe(200);
    const hit = await infer('echo-global', payload, KEYS.single);
    expect(hit.headers.get('x-cache')).toBe('hit');
    expect(await rawHits('echo-global')).toBeGreaterThan(raw);
    const entries = (await get(`${server.url}/v1/admin/audit?limit=20&tenant=single`, cacheBearer(KEYS.admin))).json.entries as {
      requestId: string;
      cached?: boolean;
      costUsd: number;
      model: string;
      version: string;
    }[];
    const audited = entries.find((entry) => entry.requestId === hit.headers.get('x-request-id'));
    expect(audited).toMatchObject({ cached: true, costUsd: 0, model: 'echo-global', version: '1' });
  });
});
