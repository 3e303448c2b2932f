import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post } from '../helpers/gateway.js';
import { startInProcessCluster, type InProcessCluster } from '../helpers/in-process-cluster.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { bearer } from '../helpers/policy-fixture.js';
import { waitFor } from '../helpers/processes.js';
import { REDIS_ENV, testPrefix, testRedis } from '../helpers/redis.js';
import { REVIEW_KEYS, reviewFixture } from '../helpers/review-fixture.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';

/** Two gateways and one worker on one Redis: a review item filed by one is claimed and resolved through the other. */
const fixture = reviewFixture();
const prefix = testPrefix();
const env = { ...fixture.env, ...REDIS_ENV, REDIS_PREFIX: prefix, HEARTBEAT_MS: '200', LOAD_MODELS: 'mlp-classifier', CPU_COUNT: '1' };
const redis = testRedis();
let cluster: InProcessCluster;
let gateways: readonly RunningServer[];

beforeAll(async () => {
  cluster = await startInProcessCluster(fixture.repository.dir, env, 'mlp-classifier', bearer(REVIEW_KEYS.ops));
  gateways = cluster.gateways;
});
afterAll(async () => {
  await cluster.close();
  redis.disconnect();
  fixture.repository.remove();
});

describe('human review in distributed mode', () => {
  it('keeps items in Redis, shared by every gateway, with one claim winning', async () => {
    const [a, b] = gateways as [RunningServer, RunningServer];
    const reply = await post(`${a.url}/v2/models/reviewed/infer`, mlpBody(1), { ...bearer(REVIEW_KEYS.acme), 'x-review': 'true' });
    expect(reply.status).toBe(200);
    const id = reply.headers.get('x-review-id')!;
    expect(await redis.hget(redisKeys(prefix).reviewItem(id), 'state')).toBe('pending');
    expect(await redis.pttl(redisKeys(prefix).reviewItem(id))).toBeGreaterThan(0);

    const listed = (await get(`${b.url}/v1/reviews?state=pending`, bearer(REVIEW_KEYS.lead))).json.items as { id: string }[];
    expect(listed.map((item) => item.id)).toContain(id);
    const claims = await Promise.all([
      post(`${a.url}/v1/reviews/${id}/claim`, {}, bearer(REVIEW_KEYS.ops)),
      post(`${b.url}/v1/reviews/${id}/claim`, {}, bearer(REVIEW_KEYS.lead)),
    ]);
    expect(claims.map((c) => c.status).sort()).toEqual([200, 409]);
    const winner = claims.find((c) => c.status === 200)!.json.claimed_by as 'ops' | 'lead';
    const resolved = await post(
      `${winner === 'ops' ? b.url : a.url}/v1/reviews/${id}/resolve`,
      { decision: 'correct', output: [0, 1] },
      bearer(REVIEW_KEYS[winner]),
    );
    expect(resolved).toMatchObject({ status: 200, json: { state: 'resolved', human_output: [0, 1] } });
    expect(await redis.hget(redisKeys(prefix).reviewItem(id), 'state')).toBe('resolved');

    const stats = (await get(`${b.url}/v1/reviews/stats`, bearer(REVIEW_KEYS.ops))).json.routes as Record<
      string,
      { requests: number; items: number; resolved: number }
    >;
    expect(stats.reviewed).toMatchObject({ requests: 1, items: 1, resolved: 1 });
    // Review actions from both gateways land in the shared audit log.
    await waitFor(
      async () => {
        const entries = (await get(`${a.url}/v1/admin/audit?limit=100`, bearer(REVIEW_KEYS.ops))).json.entries as { action?: string }[];
        return entries.filter((entry) => entry.action === 'review.claim').length === 2;
      },
      2_000,
      'claims audited by both gateways',
    );
  });
});
