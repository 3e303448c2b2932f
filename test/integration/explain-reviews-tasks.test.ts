import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { periodId, RedisBudgetStore, toPico } from '../../gateway/budget/budget-store.js';
import { hashKey } from '../../gateway/policy/policy-config.js';
import type { RunningServer } from '../../gateway/server.js';
import { noiseImage, topK } from '../helpers/explain-fixture.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { startInProcessCluster, type InProcessCluster } from '../helpers/in-process-cluster.js';
import { bearer } from '../helpers/policy-fixture.js';
import { waitFor } from '../helpers/processes.js';
import { REDIS_URL, testPrefix, testRedis } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

/**
 * Explanations a caller does not ask for at the call: a review item filed by a plain /infer
 * on a route whose review keeps explanations, and a task's `"explain": true`, whose
 * reservation covers its explanation's rows. In both modes (memory and Redis stores).
 *
 * explain-quadrant reserves 5 ms per row at 0.0006 USD/s: 3e-6 USD a row. A quadrant-check
 * task reserves its one call (3e-6); explained, also the 64 patches of the 8×8 occlusion grid
 * (1.92e-4), 1.95e-4 in all. "short" can afford the plain task, not the explained one;
 * "enough" can afford the explained one.
 */
const KEYS = { ops: 'ops-key', acme: 'acme-key', short: 'short-key', enough: 'enough-key' } as const;
const repository = new TestRepository().copy('explain-quadrant').addPipeline('quadrant-check', {
  inputs: { image: { kind: 'image' } },
  steps: [{ id: 'classify', model: 'explain-quadrant', inputs: { image: 'image' }, outputs: { probabilities: 'probabilities' } }],
  outputs: { probabilities: 'probabilities' },
});
mkdirSync(repository.dir, { recursive: true });
const configFile = join(repository.dir, 'switchyard.yaml');
writeFileSync(
  configFile,
  stringify({
    tenants: [
      { name: 'ops', role: 'admin', keys: [{ sha256: hashKey(KEYS.ops) }] },
      { name: 'acme', keys: [{ sha256: hashKey(KEYS.acme) }] },
      { name: 'short', keys: [{ sha256: hashKey(KEYS.short) }], budget: { usd: 0.00019, period: 'day' } },
      { name: 'enough', keys: [{ sha256: hashKey(KEYS.enough) }], budget: { usd: 0.0002, period: 'day' } },
    ],
    routes: [
      {
        name: 'quadrant-reviewed',
        tiers: [{ name: 'only', model: 'explain-quadrant' }],
        // Every answer is under a threshold of 1: every call files an item.
        review: { threshold: 1, output: 'probabilities', explain: true },
      },
    ],
  }),
);
afterAll(() => repository.remove());

interface ItemExplanation {
  rows_used: number;
  attributions: { input: string; method: string; shape: number[]; data: number[] }[];
  heatmap_png?: string;
  error?: unknown;
}

const inQuadrant = (index: number): boolean => Math.floor(index / 8) < 4 && index % 8 < 4;

function checks(mode: string, urls: () => readonly string[], spentPico: (tenant: string) => Promise<number>): void {
  describe(`${mode}: review items filed by /infer`, () => {
    it('carry the explanation, made after the answer (which neither waits for it nor pays for it), with the heatmap', async () => {
      const image = await noiseImage(21);
      const headers = { ...bearer(KEYS.acme), 'content-type': 'image/png' };
      const reply = await fetch(`${urls()[0]!}/v2/models/quadrant-reviewed/infer`, { method: 'POST', headers, body: image });
      expect(reply.status).toBe(200);
      const id = reply.headers.get('x-review-id');
      expect(id).toBeTruthy();
      const json = (await reply.json()) as Record<string, unknown>;
      expect(json.explanation).toBeUndefined();
      // X-Cost-USD is the one call's: one row, well under the 64 the explanation runs.
      expect(Number(reply.headers.get('x-cost-usd'))).toBeLessThan(3e-6);
      const ops = bearer(KEYS.ops);
      const last = urls()[urls().length - 1]!;
      let explanation: ItemExplanation | undefined;
      await waitFor(
        async () => {
          explanation = (await get(`${last}/v1/reviews/${id}`, ops)).json.explanation as ItemExplanation | undefined;
          return explanation !== undefined;
        },
        20_000,
        'the review item to get its explanation',
      );
      expect(explanation!.error).toBeUndefined();
      expect(explanation!.rows_used).toBe(64);
      const [attribution] = explanation!.attributions;
      expect(attribution).toMatchObject({ input: 'image', method: 'occlusion', shape: [8, 8] });
      expect(topK(attribution!.data, 16).every(inQuadrant)).toBe(true);
      // What the console draws next to the item.
      expect(await sharp(Buffer.from(explanation!.heatmap_png!, 'base64')).metadata()).toMatchObject({ format: 'png', width: 64 });
      // The listing the console reads carries it too.
      const listed = (await get(`${last}/v1/reviews?route=quadrant-reviewed&limit=100`, ops)).json.items as {
        id: string;
        explanation?: ItemExplanation;
      }[];
      expect(listed.find((item) => item.id === id)?.explanation?.heatmap_png).toBe(explanation!.heatmap_png);
    });
  });

  describe(`${mode}: a task's "explain": true`, () => {
    const submit = (key: string, body: object) => post(`${urls()[0]!}/v1/tasks/quadrant-check`, body, bearer(key));

    it("reserves its explanation's rows up front: a tenant that cannot afford them is refused before anything runs", async () => {
      const image = (await noiseImage(22)).toString('base64');
      const plain = await submit(KEYS.short, { inputs: { image } });
      expect(plain.status).toBe(200);
      const before = await spentPico('short');
      const explained = await submit(KEYS.short, { inputs: { image }, explain: true });
      expect(explained.status).toBe(429);
      expect(explained.json).toMatchObject({ code: 'budget_exceeded' });
      expect(await spentPico('short')).toBe(before);
    });

    it('a tenant that can afford them gets its explanation', async () => {
      const image = (await noiseImage(23)).toString('base64');
      const explained = await submit(KEYS.enough, { inputs: { image }, explain: true });
      expect(explained.status).toBe(200);
      const step = (explained.json.result as { steps: { explanations?: ItemExplanation[] }[] }).steps[0]!;
      expect(step.explanations![0]!.error).toBeUndefined();
      expect(step.explanations![0]!.rows_used).toBe(64);
      expect(toPico(explained.json.cost_usd as number)).toBeGreaterThan(0);
    });
  });
}

describe('embedded gateway (memory stores)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestGateway(repository.dir, { SWITCHYARD_CONFIG: configFile });
  }, 120_000);
  afterAll(() => server.close());
  const spent = async (tenant: string): Promise<number> =>
    toPico(((await get(`${server.url}/v1/spend?tenant=${tenant}`, bearer(KEYS.ops))).json as { total_usd: number }).total_usd);
  checks('embedded', () => [server.url], spent);
});

describe('distributed gateways (Redis stores)', () => {
  const prefix = testPrefix();
  const redis = testRedis();
  let cluster: InProcessCluster;
  beforeAll(async () => {
    const env = { SWITCHYARD_CONFIG: configFile, REDIS_URL, REDIS_PREFIX: prefix, CPU_COUNT: '1' };
    cluster = await startInProcessCluster(repository.dir, env, 'explain-quadrant', bearer(KEYS.ops));
  }, 120_000);
  afterAll(async () => {
    await cluster.close();
    redis.disconnect();
  });
  // What the budget store holds: spent, and nothing left reserved.
  const spent = async (tenant: string): Promise<number> => {
    const usage = await new RedisBudgetStore(redis, prefix).usage(tenant, periodId('day'));
    expect(usage.reservedPico).toBe(0);
    return usage.spentPico;
  };
  checks('distributed', () => cluster.gateways.map((gateway) => gateway.url), spent);
});
