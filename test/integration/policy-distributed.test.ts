import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, type Reply } from '../helpers/gateway.js';
import { startInProcessCluster, type InProcessCluster } from '../helpers/in-process-cluster.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { BUDGETED_REQUESTS, KEYS, bearer, policyFixture } from '../helpers/policy-fixture.js';
import { waitFor } from '../helpers/processes.js';
import { REDIS_ENV, testPrefix } from '../helpers/redis.js';

/** Two gateway instances and one worker sharing one Redis: the policy must act as one. */
const fixture = policyFixture();
const prefix = testPrefix();
const env = {
  ...fixture.env,
  ...REDIS_ENV,
  REDIS_PREFIX: prefix,
  HEARTBEAT_MS: '200',
  LOAD_MODELS: 'mlp-classifier,mlp-priced',
  CPU_COUNT: '1',
};
let cluster: InProcessCluster;
let gateways: readonly RunningServer[];

beforeAll(async () => {
  cluster = await startInProcessCluster(fixture.repository.dir, env, 'mlp-priced', bearer(KEYS.admin));
  gateways = cluster.gateways;
});
afterAll(async () => {
  await cluster.close();
  fixture.repository.remove();
});

/** Alternates requests between the two gateways. */
const both = (i: number, model: string, body: unknown, headers: Record<string, string>): Promise<Reply> =>
  post(`${gateways[i % 2]!.url}/v2/models/${model}/infer`, body, headers);

describe('policy across two gateway instances (Redis)', () => {
  it('runs the model exactly once for 100 concurrent requests with one Idempotency-Key', async () => {
    const count = async (): Promise<number> => {
      const stats = (await get(`${gateways[0]!.url}/v2/models/mlp-classifier/stats`, bearer(KEYS.admin))).json.model_stats as {
        inference_count: number;
      }[];
      return stats.reduce((sum, entry) => sum + entry.inference_count, 0);
    };
    const before = await count();
    const headers = { ...bearer(KEYS.acme), 'idempotency-key': 'dist-burst' };
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => both(i, 'mlp-classifier', mlpBody(11), headers)));
    expect(replies.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    expect(replies.filter((r) => r.status === 200 && r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    // Statistics reach the gateways by heartbeat.
    await waitFor(async () => (await count()) >= before + 1, 5_000, 'statistics');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await count()).toBe(before + 1);
    // A replay from the other instance returns the same answer.
    const [a, b] = await Promise.all([both(0, 'mlp-classifier', mlpBody(11), headers), both(1, 'mlp-classifier', mlpBody(11), headers)]);
    expect(a.json.outputs).toEqual(b.json.outputs);
    expect([a.headers.get('idempotent-replayed'), b.headers.get('idempotent-replayed')]).toEqual(['true', 'true']);
  });

  it('spends a budget of exactly N requests exactly: 10 x N requests at once over two gateways serve N', async () => {
    const replies = await Promise.all(
      Array.from({ length: 10 * BUDGETED_REQUESTS }, (_, i) => both(i, 'mlp-priced', mlpBody(i), bearer(KEYS.budgeted))),
    );
    const served = replies.filter((r) => r.status === 200);
    // The budget covers exactly N requests (estimate == price): fewer is a check that refuses at the limit, more an overrun.
    expect(served).toHaveLength(BUDGETED_REQUESTS);
    for (const reply of replies.filter((r) => r.status !== 200))
      expect(reply).toMatchObject({ status: 429, json: { code: 'budget_exceeded' } });
    // Ledger writes are batched per gateway (every 50 ms): the total converges at once after.
    await waitFor(
      async () =>
        Math.abs(((await get(`${gateways[1]!.url}/v1/spend`, bearer(KEYS.budgeted))).json.total_usd as number) - served.length * 0.001) <
        1e-12,
      2_000,
      'spend from both gateways',
    );
  });

  it('applies one rate limit across both gateways, not one per instance', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) statuses.push((await both(i, 'mlp-classifier', mlpBody(i), bearer(KEYS.limited))).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
  });

  it('shares the audit log', async () => {
    const rejected = async () =>
      (
        (await get(`${gateways[0]!.url}/v1/admin/audit?limit=1000&tenant=limited`, bearer(KEYS.admin))).json.entries as { status: number }[]
      ).filter((e) => e.status === 429);
    await waitFor(async () => (await rejected()).length === 5, 2_000, 'audit records from both gateways');
    expect(await rejected()).toHaveLength(5);
  });
});
