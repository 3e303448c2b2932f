import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { InferenceClient } from '../helpers/grpc-client.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { bearer, policyFixture } from '../helpers/policy-fixture.js';
import { freePort } from '../helpers/redis.js';

/** What a key allowed a route, and not the models behind it, sees of that route. */
const ADMIN = 'views-admin';
const ROUTER = 'views-router';
const fixture = policyFixture();
let server: RunningServer;
let client: InferenceClient;

beforeAll(async () => {
  const file = join(fixture.repository.dir, 'views.yaml');
  writeFileSync(
    file,
    stringify({
      tenants: [
        { name: 'ops', role: 'admin', keys: [{ sha256: hashKey(ADMIN) }] },
        { name: 'router', keys: [{ sha256: hashKey(ROUTER) }], models: ['tiered', 'same-twice'] },
      ],
      routes: [
        {
          name: 'tiered',
          tiers: [
            { name: 'cheap', model: 'mlp-classifier', version: '2' },
            { name: 'full', model: 'mlp-classifier', version: '1' },
          ],
          policy: { type: 'cascade', output: 'probabilities', threshold: 0.99 },
        },
        {
          name: 'same-twice',
          tiers: [
            { name: 'a', model: 'mlp-classifier', version: '1' },
            { name: 'b', model: 'mlp-classifier', version: '1' },
          ],
        },
      ],
    }),
  );
  server = await startTestGateway(fixture.repository.dir, { SWITCHYARD_CONFIG: file, GRPC_PORT: String(await freePort()) });
  client = new InferenceClient(server.grpcAddress!);
});
afterAll(async () => {
  client.close();
  await server.close();
  fixture.repository.remove();
});

type Stats = { model_stats: { name: string; version: string; inference_count: number }[] };

describe('statistics by route name', () => {
  it('answer the versions its tiers run, HTTP and gRPC alike, and count what the route served', async () => {
    const before = (await get(`${server.url}/v2/models/tiered/stats`, bearer(ROUTER))).json as Stats;
    expect(before.model_stats.map(({ name, version }) => ({ name, version }))).toEqual([
      { name: 'mlp-classifier', version: '2' },
      { name: 'mlp-classifier', version: '1' },
    ]);
    const answer = await post(`${server.url}/v2/models/tiered/infer`, mlpBody(1), bearer(ROUTER));
    expect(answer.status).toBe(200);
    const after = (await get(`${server.url}/v2/models/tiered/stats`, bearer(ROUTER))).json as Stats;
    const total = (stats: Stats) => stats.model_stats.reduce((sum, entry) => sum + entry.inference_count, 0);
    expect(total(after)).toBeGreaterThan(total(before));
    const grpc = await client.call<Stats>('ModelStatistics', { name: 'tiered' }, bearer(ROUTER));
    expect(grpc.message?.model_stats.map((entry) => entry.version)).toEqual(['2', '1']);
    // A version shared by two tiers is one entry; admins ask by route name too.
    expect(((await get(`${server.url}/v2/models/same-twice/stats`, bearer(ADMIN))).json as Stats).model_stats).toHaveLength(1);
  });

  it('a route has no versions of its own: 404 version_not_found; a model it may not call by name: 403', async () => {
    const versioned = await get(`${server.url}/v2/models/tiered/versions/1/stats`, bearer(ROUTER));
    expect(versioned.status).toBe(404);
    expect(versioned.json.code).toBe('version_not_found');
    expect((await get(`${server.url}/v2/models/mlp-classifier/stats`, bearer(ROUTER))).status).toBe(403);
    expect((await client.call('ModelStatistics', { name: 'tiered', version: '1' }, bearer(ROUTER))).error?.code).toBe(status.NOT_FOUND);
  });
});

describe('configuration by route name', () => {
  it("is the first tier's Triton interface named by the route, never the tier model's config.json", async () => {
    const config = (await get(`${server.url}/v2/models/tiered/config`, bearer(ROUTER))).json;
    expect(config).toMatchObject({ name: 'tiered', platform: 'onnxruntime_onnx', max_batch_size: expect.any(Number) });
    expect(config.input).toEqual([expect.objectContaining({ name: 'input', data_type: 'TYPE_FP32' })]);
    expect((config.instance_group as { name: string }[])[0]!.name).toBe('tiered');
    for (const key of ['versions', 'price', 'description', 'tuned', 'warmup', 'response_cache', 'inputs', 'version_policy'])
      expect(config, key).not.toHaveProperty(key);
    expect(JSON.stringify(config)).not.toContain('mlp-classifier');
    const grpc = await client.call<{ config: Record<string, unknown> }>('ModelConfig', { name: 'tiered' }, bearer(ROUTER));
    expect(grpc.message?.config).toMatchObject({ name: 'tiered', platform: 'onnxruntime_onnx' });
    expect(JSON.stringify(grpc.message)).not.toContain('mlp-classifier');
  });

  it("by the model's own name, a key that may call it gets the whole config.json; one that may not, 403", async () => {
    const whole = (await get(`${server.url}/v2/models/mlp-classifier/config`, bearer(ADMIN))).json;
    expect(whole).toMatchObject({ name: 'mlp-classifier', versions: expect.any(Object), price: expect.any(Object) });
    expect((await get(`${server.url}/v2/models/mlp-classifier/config`, bearer(ROUTER))).status).toBe(403);
  });
});
