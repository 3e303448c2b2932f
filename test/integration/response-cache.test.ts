import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { CACHE_KEYS, ECHO_USD, cacheBearer, cacheFixture, echoBody } from '../helpers/cache-fixture.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/redis.js';
import { InferenceClient } from '../helpers/grpc-client.js';
import { metricValue, scrape } from '../helpers/metrics.js';

/** Embedded mode: the response cache in this process's memory, in front of real onnxruntime instances. */
const fixture = cacheFixture();
let server: RunningServer;

beforeAll(async () => {
  server = await startTestGateway(fixture.repository.dir, { ...fixture.env, GRPC_PORT: String(await freePort()) });
});
afterAll(async () => {
  await server.close();
  fixture.repository.remove();
});

const infer = (model: string, values: readonly number[], key: string = CACHE_KEYS.alpha) =>
  post(`${server.url}/v2/models/${model}/infer`, echoBody(values), cacheBearer(key));

/** Requests the model's instances have run (the statistics endpoint: what the runtime really did). */
async function ran(model: string): Promise<number> {
  const stats = (await get(`${server.url}/v2/models/${model}/stats`, cacheBearer(CACHE_KEYS.admin))).json.model_stats as {
    inference_count: number;
  }[];
  return stats.reduce((sum, entry) => sum + entry.inference_count, 0);
}

/** The same tensor in the binary extension. */
async function inferBinary(model: string, values: readonly number[], key: string) {
  const data = Buffer.from(Float32Array.from(values).buffer);
  const header = Buffer.from(
    JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: data.byteLength } }] }),
  );
  const response = await fetch(`${server.url}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { ...cacheBearer(key), 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    body: Buffer.concat([header, data]),
  });
  return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> };
}

describe('response cache, embedded', () => {
  it('a miss runs and is charged; the same input again is a hit: answered at once, X-Cost-USD 0, nothing run', async () => {
    const before = await ran('echo-tenant');
    const miss = await infer('echo-tenant', [1, 2, 3, 4]);
    expect(miss.status).toBe(200);
    expect(miss.headers.get('x-cache')).toBe('miss');
    expect(Number(miss.headers.get('x-cost-usd'))).toBeCloseTo(ECHO_USD, 12);
    expect((miss.json.parameters as Record<string, unknown>).cache).toBe('miss');
    const hit = await infer('echo-tenant', [1, 2, 3, 4]);
    expect(hit.status).toBe(200);
    expect(hit.headers.get('x-cache')).toBe('hit');
    expect(hit.headers.get('x-cost-usd')).toBe('0');
    expect(hit.headers.get('x-queue-ms')).toBe('0');
    expect(hit.headers.get('x-compute-ms')).toBe('0');
    expect((hit.json.parameters as Record<string, unknown>).cache).toBe('hit');
    expect(hit.json.outputs).toEqual(miss.json.outputs);
    expect(await ran('echo-tenant')).toBe(before + 1);
  });

  it('a burst of one new input runs the model once: the calls that arrive while it runs wait for its answer', async () => {
    const before = await ran('echo-tenant');
    const replies = await Promise.all(Array.from({ length: 12 }, () => infer('echo-tenant', [31, 32, 33, 34])));
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    expect(replies.filter((reply) => reply.headers.get('x-cache') === 'miss')).toHaveLength(1);
    for (const reply of replies) expect((reply.json.outputs as { data: number[] }[])[0]!.data).toEqual([31, 32, 33, 34]);
    expect(await ran('echo-tenant')).toBe(before + 1);
    // Another tenant's burst does not wait on it: its own entry, its own run.
    const others = await Promise.all(Array.from({ length: 4 }, () => infer('echo-tenant', [31, 32, 33, 34], CACHE_KEYS.beta)));
    expect(others.filter((reply) => reply.headers.get('x-cache') === 'miss')).toHaveLength(1);
    expect(await ran('echo-tenant')).toBe(before + 2);
  });

  it('JSON and binary encodings of one tensor hit the same entry, both ways round', async () => {
    const before = await ran('echo-tenant');
    const binaryFirst = await inferBinary('echo-tenant', [0.5, -1, 7, 2.25], CACHE_KEYS.alpha);
    expect(binaryFirst.headers.get('x-cache')).toBe('miss');
    const json = await infer('echo-tenant', [0.5, -1, 7, 2.25]);
    expect(json.headers.get('x-cache')).toBe('hit');
    expect((json.json.outputs as { data: number[] }[])[0]!.data).toEqual([0.5, -1, 7, 2.25]);
    await infer('echo-tenant', [9, 8, 7, 6]);
    expect((await inferBinary('echo-tenant', [9, 8, 7, 6], CACHE_KEYS.alpha)).headers.get('x-cache')).toBe('hit');
    expect(await ran('echo-tenant')).toBe(before + 2);
  });

  it('asking for every output by name is the same request as asking for none', async () => {
    await infer('echo-tenant', [3, 1, 4, 1]);
    const named = await post(
      `${server.url}/v2/models/echo-tenant/infer`,
      { ...echoBody([3, 1, 4, 1]), outputs: [{ name: 'out_x' }] },
      cacheBearer(CACHE_KEYS.alpha),
    );
    expect(named.headers.get('x-cache')).toBe('hit');
  });

  it("tenant scope never answers one tenant with another's entry; global scope shares it", async () => {
    const values = [11, 12, 13, 14];
    const before = await ran('echo-tenant');
    expect((await infer('echo-tenant', values, CACHE_KEYS.alpha)).headers.get('x-cache')).toBe('miss');
    expect((await infer('echo-tenant', values, CACHE_KEYS.alpha)).headers.get('x-cache')).toBe('hit');
    // The other tenant's first call misses (alpha's entry is not its), its second hits its own.
    expect((await infer('echo-tenant', values, CACHE_KEYS.beta)).headers.get('x-cache')).toBe('miss');
    expect((await infer('echo-tenant', values, CACHE_KEYS.beta)).headers.get('x-cache')).toBe('hit');
    expect(await ran('echo-tenant')).toBe(before + 2);

    // Racing: each tenant's entry is written while the other's lookups run; none may cross.
    for (let round = 0; round < 10; round += 1) {
      const fresh = [round, -round, 100 + round, 0.5];
      await infer('echo-tenant', fresh, CACHE_KEYS.alpha);
      const replies = await Promise.all([
        infer('echo-tenant', fresh, CACHE_KEYS.alpha),
        infer('echo-tenant', fresh, CACHE_KEYS.beta),
        infer('echo-tenant', fresh, CACHE_KEYS.alpha),
      ]);
      expect(replies.map((reply) => reply.headers.get('x-cache'))).toEqual(['hit', 'miss', 'hit']);
    }

    expect((await infer('echo-global', values, CACHE_KEYS.alpha)).headers.get('x-cache')).toBe('miss');
    expect((await infer('echo-global', values, CACHE_KEYS.beta)).headers.get('x-cache')).toBe('hit');
  });

  it('a cascade is answered from the cache when its cached answers reach the tier that would answer', async () => {
    const [first, second] = [await ran('echo-tenant'), await ran('echo-global')];
    const miss = await infer('echo-cascade', [0.1, 0.2, 0.3, 0.4]);
    expect(miss.headers.get('x-cache')).toBe('miss');
    expect(miss.headers.get('x-tier')).toBe('second');
    expect(Number(miss.headers.get('x-cost-usd'))).toBeCloseTo(2 * ECHO_USD, 12);
    const hit = await infer('echo-cascade', [0.1, 0.2, 0.3, 0.4]);
    expect(hit.headers.get('x-cache')).toBe('hit');
    expect(hit.headers.get('x-tier')).toBe('second');
    expect(hit.headers.get('x-escalated')).toBe('true');
    expect(hit.headers.get('x-cost-usd')).toBe('0');
    expect([await ran('echo-tenant'), await ran('echo-global')]).toEqual([first + 1, second + 1]);
    // The first tier's answer alone is cached for a direct call of that model, by the same tenant.
    expect((await infer('echo-tenant', [0.1, 0.2, 0.3, 0.4])).headers.get('x-cache')).toBe('hit');
  });

  it('a model without response_cache says nothing about a cache and runs every time', async () => {
    const before = await ran('echo-plain');
    for (let i = 0; i < 2; i += 1) {
      const reply = await infer('echo-plain', [1, 1, 1, 1]);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('x-cache')).toBeNull();
      expect((reply.json.parameters as Record<string, unknown>).cache).toBeUndefined();
    }
    expect(await ran('echo-plain')).toBe(before + 2);
    // On a route whose fallback caches, the answering model's word counts: echo-plain has no cache to miss.
    const routed = await infer('plain-first', [1, 1, 1, 1]);
    expect([routed.status, routed.headers.get('x-tier'), routed.headers.get('x-cache')]).toEqual([200, 'plain', null]);
    expect((routed.json.parameters as Record<string, unknown>).cache).toBeUndefined();
  });

  it('a failed answer is never cached: the same failing request fails (and runs) again', async () => {
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] };
    for (let i = 0; i < 2; i += 1) {
      const reply = await post(`${server.url}/v2/models/reshape/infer`, body, cacheBearer(CACHE_KEYS.alpha));
      expect(reply.status).toBe(500);
      expect(reply.headers.get('x-cache')).toBeNull();
    }
    const samples = await scrape(`${server.url}/metrics`, cacheBearer(CACHE_KEYS.admin));
    expect(metricValue(samples, 'switchyard_response_cache_hits_total', { model: 'reshape' })).toBe(0);
    expect(metricValue(samples, 'switchyard_response_cache_misses_total', { model: 'reshape' })).toBe(2);
  });

  it('a hit still counts toward the rate limit, and the audit marks it cached', async () => {
    const statuses: (string | null)[] = [];
    for (let i = 0; i < 5; i += 1) {
      const reply = await infer('echo-tenant', [5, 5, 5, 5], CACHE_KEYS.limited);
      statuses.push(reply.status === 200 ? reply.headers.get('x-cache') : String(reply.status));
    }
    expect(statuses).toEqual(['miss', 'hit', 'hit', '429', '429']);
    const entries = (await get(`${server.url}/v1/admin/audit?limit=100&tenant=limited`, cacheBearer(CACHE_KEYS.admin))).json.entries as {
      status: number;
      cached?: boolean;
      costUsd: number;
    }[];
    const served = entries.filter((entry) => entry.status === 200);
    expect(served.map((entry) => entry.cached).sort()).toEqual([false, true, true]);
    for (const entry of served.filter((e) => e.cached)) expect(entry.costUsd).toBe(0);
  });

  it('a hit holds and charges no budget: a tenant whose budget is spent still gets its cached answers, nothing more', async () => {
    expect((await infer('echo-tenant', [6, 6, 6, 6], CACHE_KEYS.budgeted)).headers.get('x-cache')).toBe('miss');
    const hit = await infer('echo-tenant', [6, 6, 6, 6], CACHE_KEYS.budgeted);
    expect(hit.status).toBe(200);
    expect(hit.headers.get('x-cache')).toBe('hit');
    expect(await infer('echo-tenant', [7, 7, 7, 7], CACHE_KEYS.budgeted)).toMatchObject({ status: 429, json: { code: 'budget_exceeded' } });
    expect((await get(`${server.url}/v1/spend`, cacheBearer(CACHE_KEYS.budgeted))).json.total_usd).toBeCloseTo(ECHO_USD, 12);
  });

  it('tasks reuse cached model-step answers: the second run of a task runs no model and costs nothing', async () => {
    const before = await ran('echo-tenant');
    const task = () =>
      post(
        `${server.url}/v1/tasks/echo-task`,
        { inputs: { value: { datatype: 'FP32', shape: [1, 4], data: [21, 22, 23, 24] } } },
        cacheBearer(CACHE_KEYS.alpha),
      );
    const first = await task();
    expect(first.status).toBe(200);
    expect((first.json.result as { cost_usd: number }).cost_usd).toBeCloseTo(ECHO_USD, 12);
    const second = await task();
    expect(second.status).toBe(200);
    const result = second.json.result as { cost_usd: number; outputs: { echoed: { data: number[] } } };
    expect(result.cost_usd).toBe(0);
    expect(result.outputs.echoed.data).toEqual([21, 22, 23, 24]);
    // And an inference call with that input, by the same tenant, reuses the task's answer.
    expect((await infer('echo-tenant', [21, 22, 23, 24])).headers.get('x-cache')).toBe('hit');
    expect(await ran('echo-tenant')).toBe(before + 1);
  });

  it('gRPC: the same pipeline, so a hit says so in its parameters and its metadata', async () => {
    const client = new InferenceClient(server.grpcAddress!);
    try {
      await infer('echo-tenant', [4, 3, 2, 1]);
      const request = {
        model_name: 'echo-tenant',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }],
        raw_input_contents: [Buffer.from(Float32Array.from([4, 3, 2, 1]).buffer)],
      };
      const reply = await client.call<{ parameters: Record<string, { string_param?: string }> }>(
        'ModelInfer',
        request,
        cacheBearer(CACHE_KEYS.alpha),
      );
      expect(reply.error).toBeUndefined();
      expect(reply.message!.parameters.cache!.string_param).toBe('hit');
      expect(reply.headers['x-cache']).toBe('hit');
      expect(reply.headers['x-cost-usd']).toBe('0');
    } finally {
      client.client.close();
    }
  });

  it('metrics: hits, misses and bytes per model', async () => {
    const samples = await scrape(`${server.url}/metrics`, cacheBearer(CACHE_KEYS.admin));
    expect(metricValue(samples, 'switchyard_response_cache_hits_total', { model: 'echo-tenant' })).toBeGreaterThanOrEqual(8);
    expect(metricValue(samples, 'switchyard_response_cache_misses_total', { model: 'echo-tenant' })).toBeGreaterThanOrEqual(8);
    expect(metricValue(samples, 'switchyard_response_cache_bytes', { model: 'echo-tenant' })).toBeGreaterThan(0);
    expect(metricValue(samples, 'switchyard_response_cache_evictions_total', { model: 'echo-tenant' })).toBe(0);
  });
});
