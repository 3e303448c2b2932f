import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway, type Reply } from '../helpers/gateway.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { BUDGETED_REQUESTS, KEYS, bearer, policyFixture } from '../helpers/policy-fixture.js';

const fixture = policyFixture();
let server: RunningServer;
const infer = (name: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> =>
  post(`${server.url}/v2/models/${name}/infer`, body, headers);

const auditFile = `${fixture.repository.dir}/audit.jsonl`;

beforeAll(async () => {
  server = await startTestGateway(fixture.repository.dir, { ...fixture.env, AUDIT_LOG_FILE: auditFile });
});
afterAll(async () => {
  await server.close();
  fixture.repository.remove();
});

/** Inferences run by mlp-classifier (one version, or all). */
const inferenceCount = async (version?: string): Promise<number> => {
  const path = version ? `versions/${version}/stats` : 'stats';
  const stats = (await get(`${server.url}/v2/models/mlp-classifier/${path}`, bearer(KEYS.admin))).json.model_stats as {
    inference_count: number;
  }[];
  return stats.reduce((sum, entry) => sum + entry.inference_count, 0);
};

describe('authentication and authorization', () => {
  it('401 without a key or with an unknown one; health needs none', async () => {
    expect(await infer('mlp-classifier', mlpBody(1))).toMatchObject({ status: 401, json: { code: 'unauthorized' } });
    expect(await infer('mlp-classifier', mlpBody(1), bearer('nope'))).toMatchObject({
      status: 401,
      json: { code: 'unauthorized', error: 'unknown API key' },
    });
    expect(await infer('mlp-classifier', mlpBody(1), { authorization: 'Basic abc' })).toMatchObject({ status: 401 });
    expect((await get(`${server.url}/v2/models/mlp-classifier`)).status).toBe(401);
    expect((await get(`${server.url}/v2/health/ready`)).status).toBe(200);
  });

  it('403 for a model the key may not call, with the same answer whether or not it exists', async () => {
    const existing = await infer('mlp-classifier', mlpBody(1), bearer(KEYS.reader));
    const missing = await infer('no-such-model', mlpBody(1), bearer(KEYS.reader));
    expect(existing).toMatchObject({ status: 403, json: { code: 'forbidden' } });
    expect(missing).toMatchObject({ status: 403, json: { code: 'forbidden' } });
    expect(String(existing.json.error).replace('mlp-classifier', 'X')).toBe(String(missing.json.error).replace('no-such-model', 'X'));
    expect((await get(`${server.url}/v2/models/mlp-classifier`, bearer(KEYS.reader))).status).toBe(403);
    // A tenant allowed every model does learn that a model is missing.
    expect((await infer('no-such-model', mlpBody(1), bearer(KEYS.pro))).status).toBe(404);
  });

  it('403 for admin endpoints with a user key; 200 with an admin key', async () => {
    for (const [method, path] of [
      ['POST', '/v2/repository/index'],
      ['GET', '/v1/admin/audit'],
      ['GET', '/v1/admin/routes'],
      ['GET', '/v2/admin/dead-letters'],
      ['GET', '/v2/models/stats'],
    ] as const) {
      const call = (key: string) =>
        method === 'POST' ? post(`${server.url}${path}`, {}, bearer(key)) : get(`${server.url}${path}`, bearer(key));
      expect(await call(KEYS.acme), path).toMatchObject({ status: 403, json: { code: 'forbidden' } });
      expect((await call(KEYS.admin)).status, path).not.toBe(403);
    }
  });
});

describe('rate limits', () => {
  it('counts per tenant, sends the headers, and answers 429 with Retry-After', async () => {
    const replies = [];
    for (let i = 0; i < 4; i += 1) replies.push(await infer('mlp-classifier', mlpBody(i), bearer(KEYS.limited)));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(replies[0]!.headers.get('x-ratelimit-limit')).toBe('3');
    expect(replies[1]!.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(replies[3]!.json).toMatchObject({ code: 'rate_limited' });
    expect(Number(replies[3]!.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another tenant is not affected.
    expect((await infer('mlp-classifier', mlpBody(9), bearer(KEYS.acme))).status).toBe(200);
  });
});

describe('idempotency keys', () => {
  it('replays a finished request with its body and metadata, running nothing again', async () => {
    const headers = { ...bearer(KEYS.acme), 'idempotency-key': 'order-1' };
    const first = await infer('mlp-classifier', mlpBody(42), headers);
    const count = await inferenceCount();
    const again = await infer('mlp-classifier', mlpBody(42), headers);
    expect(again.status).toBe(first.status);
    expect(again.json).toEqual(first.json);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('x-cost-usd')).toBe(first.headers.get('x-cost-usd'));
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(await inferenceCount()).toBe(count);
  });

  it('422 for the same key with another body, 400 for a malformed key', async () => {
    const headers = { ...bearer(KEYS.acme), 'idempotency-key': 'order-2' };
    expect((await infer('mlp-classifier', mlpBody(1), headers)).status).toBe(200);
    expect(await infer('mlp-classifier', mlpBody(2), headers)).toMatchObject({ status: 422, json: { code: 'idempotency_key_reused' } });
    // The version in the path chooses the model as much as the body: another version is another request.
    const versioned = { ...bearer(KEYS.acme), 'idempotency-key': 'order-2v' };
    expect((await infer('mlp-classifier/versions/2', mlpBody(1), versioned)).headers.get('x-model-version')).toBe('2');
    expect(await infer('mlp-classifier/versions/1', mlpBody(1), versioned)).toMatchObject({
      status: 422,
      json: { code: 'idempotency_key_reused' },
    });
    expect((await infer('mlp-classifier/versions/2', mlpBody(1), versioned)).headers.get('idempotent-replayed')).toBe('true');
    expect(await infer('mlp-classifier', mlpBody(1), { ...bearer(KEYS.acme), 'idempotency-key': 'k'.repeat(256) })).toMatchObject({
      status: 400,
      json: { code: 'idempotency_key_invalid' },
    });
  });

  it('does not store rejections: a 400 leaves the key usable', async () => {
    const headers = { ...bearer(KEYS.acme), 'idempotency-key': 'order-3' };
    expect((await infer('mlp-classifier', { inputs: [] }, headers)).status).toBe(400);
    expect((await infer('mlp-classifier', mlpBody(3), headers)).status).toBe(200);
  });

  it('runs the model exactly once under 100 concurrent requests with one key', async () => {
    const before = await inferenceCount();
    const headers = { ...bearer(KEYS.acme), 'idempotency-key': 'burst-1' };
    const replies = await Promise.all(Array.from({ length: 100 }, () => infer('mlp-classifier', mlpBody(77), headers)));
    expect(await inferenceCount()).toBe(before + 1);
    const ok = replies.filter((r) => r.status === 200);
    const busy = replies.filter((r) => r.status === 409);
    expect(ok.length + busy.length).toBe(100);
    expect(ok.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    for (const reply of busy) {
      expect(reply.json).toMatchObject({ code: 'idempotency_in_progress' });
      expect(reply.headers.get('retry-after')).toBe('1');
    }
  });
});

describe('budgets and spend', () => {
  it('serves at most what the budget covers under concurrency, then 429 budget_exceeded', async () => {
    const replies = await Promise.all(
      Array.from({ length: 10 * BUDGETED_REQUESTS }, (_, i) => infer('mlp-priced', mlpBody(i), bearer(KEYS.budgeted))),
    );
    expect(replies.filter((r) => r.status === 200)).toHaveLength(BUDGETED_REQUESTS);
    for (const reply of replies.filter((r) => r.status !== 200))
      expect(reply).toMatchObject({ status: 429, json: { code: 'budget_exceeded' } });
    const spend = (await get(`${server.url}/v1/spend`, bearer(KEYS.budgeted))).json;
    expect(spend.total_usd).toBeCloseTo(BUDGETED_REQUESTS * 0.001, 12);
    expect(spend.entries).toEqual([
      expect.objectContaining({ tenant: 'budgeted', model: 'mlp-priced', version: '1', requests: BUDGETED_REQUESTS }),
    ]);
  });

  it('a tenant sees only its own spend; an admin sees all and filters', async () => {
    expect(await get(`${server.url}/v1/spend?tenant=acme`, bearer(KEYS.budgeted))).toMatchObject({
      status: 403,
      json: { code: 'forbidden' },
    });
    const all = (await get(`${server.url}/v1/spend`, bearer(KEYS.admin))).json.entries as { tenant: string }[];
    expect(new Set(all.map((e) => e.tenant))).toEqual(new Set(['acme', 'limited', 'budgeted']));
    const filtered = (await get(`${server.url}/v1/spend?tenant=acme&model=mlp-classifier`, bearer(KEYS.admin))).json.entries as {
      tenant: string;
      model: string;
    }[];
    expect(filtered.every((e) => e.tenant === 'acme' && e.model === 'mlp-classifier')).toBe(true);
    expect((await get(`${server.url}/v1/spend?from=2026-13-01`, bearer(KEYS.admin))).status).toBe(400);
  });
});

describe('routing and tiering', () => {
  const confidence = (reply: Reply): number => Math.max(...(reply.json.outputs as { data: number[] }[])[0]!.data);

  it('a cascade escalates exactly when the cheap tier is not confident, and bills both tiers', async () => {
    let escalated = 0;
    let kept = 0;
    for (let seed = 0; seed < 24 && (escalated === 0 || kept === 0); seed += 1) {
      const cheap = await post(`${server.url}/v2/models/mlp-classifier/versions/2/infer`, mlpBody(seed), bearer(KEYS.admin));
      const routed = await infer('classify', mlpBody(seed), bearer(KEYS.acme));
      expect(routed.status).toBe(200);
      expect(routed.headers.get('x-route')).toBe('classify');
      if (confidence(cheap) < 0.5) {
        escalated += 1;
        expect(routed.headers.get('x-tier')).toBe('full');
        expect(routed.headers.get('x-escalated')).toBe('true');
        expect(routed.headers.get('x-model-version')).toBe('1');
        // Both tiers ran, so both are billed: more than the full tier's own compute share.
        const parameters = routed.json.parameters as { compute_ms: number };
        expect(Number(routed.headers.get('x-cost-usd'))).toBeGreaterThan((parameters.compute_ms / 1000) * 0.0006);
      } else {
        kept += 1;
        expect(routed.headers.get('x-tier')).toBe('cheap');
        expect(routed.headers.get('x-escalated')).toBe('false');
        expect(routed.json.outputs).toEqual(cheap.json.outputs);
      }
    }
    expect(escalated).toBeGreaterThan(0);
    expect(kept).toBeGreaterThan(0);
  });

  it('a route name works as a model name for metadata and readiness', async () => {
    expect(await get(`${server.url}/v2/models/classify`, bearer(KEYS.acme))).toMatchObject({
      status: 200,
      json: { name: 'classify', versions: ['2'], inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 512] }] },
    });
    expect(await get(`${server.url}/v2/models/classify/ready`, bearer(KEYS.acme))).toMatchObject({
      status: 200,
      json: { name: 'classify', ready: true },
    });
    expect((await get(`${server.url}/v2/models/classify`, bearer(KEYS.reader))).status).toBe(403);
    // KServe V1's list names each callable name once, the routes a key may call among them.
    const listed = (await get(`${server.url}/v1/models`, bearer(KEYS.acme))).json.models as string[];
    expect(listed).toContain('classify');
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('weighted, plan and X-Tier policies pick their tier', async () => {
    expect((await infer('canary', mlpBody(1), bearer(KEYS.acme))).headers.get('x-tier')).toBe('candidate');
    expect((await infer('planned', mlpBody(1), bearer(KEYS.acme))).headers.get('x-tier')).toBe('basic');
    expect((await infer('planned', mlpBody(1), bearer(KEYS.pro))).headers.get('x-tier')).toBe('premium');
    expect((await infer('picky', mlpBody(1), { ...bearer(KEYS.acme), 'x-tier': 'b' })).headers.get('x-model-version')).toBe('2');
    expect((await infer('picky', mlpBody(1), bearer(KEYS.acme))).headers.get('x-model-version')).toBe('1');
    // A tier the route does not have (or an empty header) is refused, not swapped for its first tier.
    for (const tier of ['bogus', '', 'B']) {
      const refused = await infer('picky', mlpBody(1), { ...bearer(KEYS.acme), 'x-tier': tier });
      expect([refused.status, refused.json.code], tier).toEqual([400, 'invalid_parameter']);
      expect(refused.json.error).toBe(
        'X-Tier names no tier of route "picky": send one of a, b (names match exactly), or no X-Tier for the route\'s policy',
      );
    }
    // A route without tier_header never reads it.
    expect((await infer('planned', mlpBody(1), { ...bearer(KEYS.pro), 'x-tier': 'bogus' })).headers.get('x-tier')).toBe('premium');
  });

  it('shadow mirrors to the candidate without changing the response or the bill', async () => {
    const direct = await post(`${server.url}/v2/models/mlp-classifier/versions/1/infer`, mlpBody(5), bearer(KEYS.admin));
    const before = await inferenceCount('2');
    const shadowed = await infer('shadowed', mlpBody(5), bearer(KEYS.acme));
    expect(shadowed.json.outputs).toEqual(direct.json.outputs);
    expect(shadowed.headers.get('x-tier')).toBe('live');
    expect(Number(shadowed.headers.get('x-cost-usd'))).toBeCloseTo(
      (Number(shadowed.json.parameters && (shadowed.json.parameters as { compute_ms: number }).compute_ms) / 1000) * 0.0006,
      9,
    );
    let agreement: { mirrored: number } | undefined;
    for (let i = 0; i < 50 && !(agreement && agreement.mirrored > 0); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const routes = (await get(`${server.url}/v1/admin/routes`, bearer(KEYS.admin))).json.routes as {
        name: string;
        shadow_agreement: { mirrored: number };
      }[];
      agreement = routes.find((r) => r.name === 'shadowed')!.shadow_agreement;
    }
    expect(agreement!.mirrored).toBe(1);
    expect(await inferenceCount('2')).toBe(before + 1);
  });

  it('a circuit breaker opens after consecutive failures and the route falls back', async () => {
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] };
    const replies = [];
    for (let i = 0; i < 4; i += 1) replies.push(await infer('fragile', body, bearer(KEYS.acme)));
    // Every request is answered by the backup tier; the broken one fails, then is skipped.
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.headers.get('x-tier')).toBe('backup');
      expect(reply.headers.get('x-escalated')).toBe('true');
    }
    const breakers = (await get(`${server.url}/v1/admin/routes`, bearer(KEYS.admin))).json.circuit_breakers as {
      target: string;
      state: string;
    }[];
    expect(breakers).toContainEqual({ target: 'reshape:1', state: 'open', consecutive_failures: 2 });
  });

  it('503 no_tier_available when every tier of a route has its breaker open', async () => {
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] };
    // reshape:1's breaker is open from the previous test: the one-tier route has nowhere to go.
    const reply = await infer('doomed', body, bearer(KEYS.acme));
    expect(reply).toMatchObject({ status: 503, json: { code: 'no_tier_available' } });
    expect(reply.headers.get('retry-after')).toBe('1');
  });
});

describe('audit log', () => {
  it('holds one record per request with tenant, route, tier, status and cost', async () => {
    await infer('classify', mlpBody(3), { ...bearer(KEYS.acme), 'idempotency-key': 'audited' });
    const entries = (await get(`${server.url}/v1/admin/audit?limit=5&tenant=acme`, bearer(KEYS.admin))).json.entries as Record<
      string,
      unknown
    >[];
    expect(entries[0]).toMatchObject({
      tenant: 'acme',
      route: 'classify',
      status: 200,
      idempotencyKey: 'audited',
      model: 'mlp-classifier',
    });
    expect(entries[0]!.tier).toMatch(/cheap|full/);
    expect(typeof entries[0]!.costUsd).toBe('number');
    const rejected = (await get(`${server.url}/v1/admin/audit?limit=500`, bearer(KEYS.admin))).json.entries as {
      status: number;
      code?: string;
    }[];
    expect(rejected.some((e) => e.status === 429 && e.code === 'budget_exceeded')).toBe(true);
    expect(rejected.some((e) => e.status === 401 && e.code === 'unauthorized')).toBe(true);
    // The durable copy: JSON lines, appended in batches.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { requestId: string });
    expect(lines.length).toBeGreaterThanOrEqual(rejected.length);
    expect(lines.some((line) => line.requestId === (entries[0] as { requestId: string }).requestId)).toBe(true);
  });
});
