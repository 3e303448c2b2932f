import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import type { ReviewItem } from '../../gateway/review/review-item.js';
import { get, post, startTestGateway, type Reply } from '../helpers/gateway.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { bearer } from '../helpers/policy-fixture.js';
import { REVIEW_KEYS, REVIEW_THRESHOLD, reviewFixture } from '../helpers/review-fixture.js';

const fixture = reviewFixture();
let server: RunningServer;
const infer = (route: string, seed: number, headers: Record<string, string> = {}): Promise<Reply> =>
  post(`${server.url}/v2/models/${route}/infer`, mlpBody(seed), { ...bearer(REVIEW_KEYS.acme), ...headers });
const as = (who: keyof typeof REVIEW_KEYS): Record<string, string> => bearer(REVIEW_KEYS[who]);
const list = async (query: string, who: keyof typeof REVIEW_KEYS = 'ops'): Promise<ReviewItem[]> =>
  (await get(`${server.url}/v1/reviews${query}`, as(who))).json.items as ReviewItem[];
const claim = (id: string, who: keyof typeof REVIEW_KEYS): Promise<Reply> => post(`${server.url}/v1/reviews/${id}/claim`, {}, as(who));
const resolve = (id: string, who: keyof typeof REVIEW_KEYS, body: unknown): Promise<Reply> =>
  post(`${server.url}/v1/reviews/${id}/resolve`, body, as(who));

beforeAll(async () => {
  server = await startTestGateway(fixture.repository.dir, fixture.env);
});
afterAll(async () => {
  await server.close();
  fixture.repository.remove();
});

const SEEDS = Array.from({ length: 16 }, (_, i) => i + 1);
const marked = new Map<number, string>();
let confident: number | undefined;

describe('human review on the inference path', () => {
  it('marks answers under the threshold pending_review, and only those', async () => {
    for (const seed of SEEDS) {
      const reply = await infer('reviewed', seed);
      expect(reply.status).toBe(200);
      expect(reply.json.outputs).toHaveLength(1);
      const review = (reply.json.parameters as { review?: { id: string; status: string } }).review;
      if (review) {
        expect(review.status).toBe('pending_review');
        expect(reply.headers.get('x-review-status')).toBe('pending_review');
        expect(reply.headers.get('x-review-id')).toBe(review.id);
        marked.set(seed, review.id);
      } else {
        expect(reply.headers.get('x-review-id')).toBeNull();
        confident ??= seed;
      }
    }
    // The threshold sits near the median confidence: some answers go to review, some do not.
    expect(marked.size).toBeGreaterThan(0);
    expect(marked.size).toBeLessThan(SEEDS.length);

    const items = await list('?route=reviewed&state=pending');
    expect(items.map((item) => item.id).sort()).toEqual([...marked.values()].sort());
    for (const item of items) {
      expect(item).toMatchObject({
        route: 'reviewed',
        tenant: 'acme',
        state: 'pending',
        reason: 'low_confidence',
        model: 'mlp-classifier',
        version: '1',
      });
      expect(item.confidence).toBeLessThan(REVIEW_THRESHOLD);
      expect(item.model_output[0]).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [1, 10] });
      const seed = [...marked].find(([, id]) => id === item.id)![0];
      const body = JSON.stringify(mlpBody(seed));
      expect(item.input_ref).toMatchObject({
        sha256: createHash('sha256').update(body).digest('hex'),
        bytes: Buffer.byteLength(body),
        content_type: 'application/json',
      });
      expect(item.input_ref.body).toEqual(mlpBody(seed));
    }
  });

  it('X-Review: true sends a confident answer to review; elsewhere it is a 400', async () => {
    const reply = await infer('reviewed', confident!, { 'x-review': 'true' });
    expect(reply.headers.get('x-review-status')).toBe('pending_review');
    const item = (await get(`${server.url}/v1/reviews/${reply.headers.get('x-review-id')}`, as('ops'))).json as unknown as ReviewItem;
    expect(item.reason).toBe('requested');
    expect(item.confidence).toBeGreaterThanOrEqual(REVIEW_THRESHOLD);
    expect((await infer('reviewed', confident!, { 'x-review': 'false' })).headers.get('x-review-id')).toBeNull();
    expect(await infer('plain', 1, { 'x-review': 'true' })).toMatchObject({ status: 400, json: { code: 'invalid_parameter' } });
    expect(await infer('reviewed', 1, { 'x-review': 'maybe' })).toMatchObject({ status: 400, json: { code: 'invalid_parameter' } });
  });

  it("a cascade route is reviewed by its final tier's answer, judged by the cascade's output", async () => {
    for (const seed of SEEDS.slice(0, 6)) expect((await infer('triaged', seed)).status).toBe(200);
    for (const item of await list('?route=triaged')) {
      expect(item.confidence).toBeLessThan(REVIEW_THRESHOLD);
      // The cascade escalates anything under 0.5, so the final tier is the full model.
      expect(item.version).toBe('1');
    }
  });
});

describe('the review API', () => {
  it('is for admins only', async () => {
    expect(await get(`${server.url}/v1/reviews`, as('acme'))).toMatchObject({ status: 403, json: { code: 'forbidden' } });
    expect((await claim([...marked.values()][0]!, 'acme')).status).toBe(403);
  });

  it('filters by age and validates its query', async () => {
    expect(await list('?route=reviewed&older_than_s=3600')).toEqual([]);
    expect((await list('?route=reviewed&newer_than_s=3600')).length).toBe(marked.size + 1);
    expect(await list('?route=reviewed&limit=1')).toHaveLength(1);
    expect((await get(`${server.url}/v1/reviews?state=open`, as('ops'))).json.code).toBe('invalid_parameter');
    expect((await get(`${server.url}/v1/reviews?older_than_s=-1`, as('ops'))).json.code).toBe('invalid_parameter');
  });

  it("claim, approve, correct: 409 for someone else's item, 404 for none, 400 for bad bodies", async () => {
    const [first, second] = [...marked.values()] as [string, string];
    expect(await claim(first, 'ops')).toMatchObject({ status: 200, json: { state: 'claimed', claimed_by: 'ops' } });
    expect(await claim(first, 'ops')).toMatchObject({ status: 200 });
    expect(await claim(first, 'lead')).toMatchObject({ status: 409, json: { code: 'review_conflict' } });
    expect(await resolve(first, 'lead', { decision: 'approve' })).toMatchObject({ status: 409, json: { code: 'review_conflict' } });
    expect(await resolve(second, 'ops', { decision: 'approve' })).toMatchObject({ status: 409, json: { code: 'review_conflict' } });
    expect(await claim('no-such-item', 'ops')).toMatchObject({ status: 404, json: { code: 'review_not_found' } });
    expect(await resolve('no-such-item', 'ops', { decision: 'approve' })).toMatchObject({
      status: 404,
      json: { code: 'review_not_found' },
    });
    for (const bad of [{}, { decision: 'reject' }, { decision: 'correct' }, { decision: 'approve', output: 1 }]) {
      expect(await resolve(first, 'ops', bad), JSON.stringify(bad)).toMatchObject({ status: 400, json: { code: 'invalid_parameter' } });
    }
    expect(await resolve(first, 'ops', 'not json')).toMatchObject({ status: 400, json: { code: 'invalid_json' } });

    expect(await resolve(first, 'ops', { decision: 'approve' })).toMatchObject({
      status: 200,
      json: { state: 'resolved', resolved_by: 'ops', decision: 'approved' },
    });
    expect(await resolve(first, 'ops', { decision: 'approve' })).toMatchObject({ status: 409, json: { code: 'review_conflict' } });
    expect(await claim(first, 'lead')).toMatchObject({ status: 409 });

    expect((await claim(second, 'lead')).status).toBe(200);
    expect(await resolve(second, 'lead', { decision: 'correct', output: { label: 3 } })).toMatchObject({
      status: 200,
      json: { decision: 'corrected', human_output: { label: 3 }, resolved_by: 'lead' },
    });
  });

  it('exports resolved items as JSON lines for retraining', async () => {
    const response = await fetch(`${server.url}/v1/reviews/export?route=reviewed`, { headers: as('ops') });
    expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    const [first, second] = [...marked.values()];
    expect(lines.find((line) => line.id === first)).toMatchObject({
      route: 'reviewed',
      decision: 'approved',
      human_output: null,
      resolved_by: 'ops',
    });
    expect(lines.find((line) => line.id === second)).toMatchObject({
      decision: 'corrected',
      human_output: { label: 3 },
      resolved_by: 'lead',
    });
    for (const line of lines)
      expect(Object.keys(line).sort()).toEqual([
        'decision',
        'human_output',
        'id',
        'input_ref',
        'model_output',
        'resolved_at',
        'resolved_by',
        'route',
      ]);
    expect((await get(`${server.url}/v1/reviews/export?state=pending`, as('ops'))).json.code).toBe('invalid_parameter');
  });

  it('audits every action with the reviewer, and each filed answer with its review id', async () => {
    const entries = (await get(`${server.url}/v1/admin/audit?limit=500`, as('ops'))).json.entries as Record<string, unknown>[];
    const [first, second] = [...marked.values()];
    expect(entries).toContainEqual(
      expect.objectContaining({ action: 'review.claim', reviewer: 'ops', tenant: 'ops', reviewId: first, route: 'reviewed', status: 200 }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ action: 'review.claim', reviewer: 'lead', reviewId: first, status: 409, code: 'review_conflict' }),
    );
    expect(entries).toContainEqual(expect.objectContaining({ action: 'review.resolve', reviewer: 'lead', reviewId: second, status: 200 }));
    expect(entries).toContainEqual(expect.objectContaining({ action: 'review.export', reviewer: 'ops' }));
    expect(entries).toContainEqual(expect.objectContaining({ route: 'reviewed', tenant: 'acme', reviewId: first, status: 200 }));
  });

  it('reports the review rate and time to resolution per route', async () => {
    const stats = (await get(`${server.url}/v1/reviews/stats`, as('ops'))).json.routes as Record<string, Record<string, unknown>>;
    // 16 requests, the X-Review one and the X-Review: false one; 400s never ran.
    expect(stats.reviewed).toMatchObject({
      requests: SEEDS.length + 2,
      items: marked.size + 1,
      resolved: 2,
      claimed: 0,
      pending: marked.size - 1,
    });
    expect(stats.reviewed!.rate).toBeCloseTo((marked.size + 1) / (SEEDS.length + 2));
    const seconds = stats.reviewed!.resolution_seconds as { median: number; p90: number };
    expect(seconds.median).toBeGreaterThanOrEqual(0);
    expect(seconds.p90).toBeGreaterThanOrEqual(seconds.median);
    expect(stats.triaged).toMatchObject({ requests: 6 });
    expect(stats.plain).toBeUndefined();
  });
});
