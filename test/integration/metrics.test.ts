import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { post, startTestGateway } from '../helpers/gateway.js';
import { labelValues, metricValue, scrape } from '../helpers/metrics.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { BUDGETED_REQUESTS, KEYS, bearer, policyFixture } from '../helpers/policy-fixture.js';
import { TestRepository } from '../helpers/repository.js';

const N = 24;

describe('metrics, embedded mode', () => {
  let repository: TestRepository;
  let server: RunningServer;
  beforeAll(async () => {
    repository = new TestRepository().copy('mlp-classifier');
    server = await startTestGateway(repository.dir);
  });
  afterAll(async () => {
    await server?.close();
    repository?.remove();
  });

  it('counts inferences, executions, batches, durations and cost after N inferences', async () => {
    const replies = await Promise.all(
      Array.from({ length: N }, (_, seed) => post(`${server.url}/v2/models/mlp-classifier/infer`, mlpBody(seed))),
    );
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    const samples = await scrape(`${server.url}/metrics`);
    const version = { model: 'mlp-classifier', version: '1' };
    expect(metricValue(samples, 'switchyard_inference_count_total', version)).toBe(N);
    const executions = metricValue(samples, 'switchyard_execution_count_total', version);
    expect(executions).toBeGreaterThan(0);
    expect(executions).toBeLessThanOrEqual(N);
    expect(metricValue(samples, 'switchyard_batch_size_count', version)).toBe(executions);
    expect(metricValue(samples, 'switchyard_batch_size_sum', version)).toBe(N);
    expect(metricValue(samples, 'switchyard_inference_requests_total', { ...version, outcome: 'success' })).toBe(N);
    expect(metricValue(samples, 'switchyard_request_duration_seconds_count', version)).toBe(N);
    expect(metricValue(samples, 'switchyard_queue_duration_seconds_count', version)).toBe(N);
    expect(metricValue(samples, 'switchyard_compute_duration_seconds_count', version)).toBe(executions);
    expect(metricValue(samples, 'switchyard_model_load_duration_seconds_count', version)).toBe(1);
    // Softmax rows: one top probability per request, each in (0, 1].
    expect(metricValue(samples, 'switchyard_output_confidence_count', version)).toBe(N);
    expect(metricValue(samples, 'switchyard_cost_usd_total', { tenant: 'local', model: 'mlp-classifier' })).toBeGreaterThan(0);
    expect(
      metricValue(samples, 'switchyard_http_request_duration_seconds_count', {
        route: '/v2/models/:model/infer',
        method: 'POST',
        status: '200',
      }),
    ).toBe(N);
    expect(metricValue(samples, 'switchyard_pending_requests', version)).toBe(0);
    // Default process metrics carry the prefix.
    expect(samples.some((s) => s.name === 'switchyard_process_cpu_user_seconds_total')).toBe(true);
  });

  it('keeps label sets bounded: unknown paths and models never become label values', async () => {
    await Promise.all(Array.from({ length: 30 }, (_, i) => fetch(`${server.url}/no/such/path/${i}?q=${i}`)));
    await Promise.all(Array.from({ length: 30 }, (_, i) => post(`${server.url}/v2/models/ghost-${i}/infer`, mlpBody(i))));
    await Promise.all(Array.from({ length: 10 }, (_, i) => fetch(`${server.url}/v2/models/ghost-${i}/versions/${i}/ready`)));
    const samples = await scrape(`${server.url}/metrics`);
    const routes = labelValues(samples, 'switchyard_http_request_duration_seconds_count', 'route');
    expect(routes.has('unmatched')).toBe(true);
    for (const route of routes) expect(route === 'unmatched' || route.startsWith('/')).toBe(true);
    expect([...routes].some((route) => /ghost|no\/such/.test(route))).toBe(false);
    expect(routes.size).toBeLessThan(10);
    for (const name of ['switchyard_inference_requests_total', 'switchyard_inference_count_total', 'switchyard_output_confidence_count']) {
      expect(labelValues(samples, name, 'model')).toEqual(new Set(['mlp-classifier']));
    }
    expect(labelValues(samples, 'switchyard_cost_usd_total', 'model')).toEqual(new Set(['mlp-classifier']));
  });
});

describe('metrics with tenants and routes', () => {
  let fixture: ReturnType<typeof policyFixture>;
  let server: RunningServer;
  const infer = (name: string, body: unknown, key: string) => post(`${server.url}/v2/models/${name}/infer`, body, bearer(key));
  beforeAll(async () => {
    fixture = policyFixture();
    server = await startTestGateway(fixture.repository.dir, fixture.env);
  });
  afterAll(async () => {
    await server?.close();
    fixture?.repository.remove();
  });

  it('needs an admin key', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { headers: bearer(KEYS.acme) })).status).toBe(403);
  });

  it('counts rate limits, budget rejections, replays, failures by code, escalations and breaker states', async () => {
    for (let i = 0; i < 5; i += 1) await infer('mlp-classifier', mlpBody(i), KEYS.limited);
    await Promise.all(Array.from({ length: BUDGETED_REQUESTS + 3 }, (_, i) => infer('mlp-priced', mlpBody(i), KEYS.budgeted)));
    const keyed = { ...bearer(KEYS.acme), 'idempotency-key': 'metrics-1' };
    for (let i = 0; i < 3; i += 1) await post(`${server.url}/v2/models/mlp-classifier/infer`, mlpBody(1), keyed);
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] };
    for (let i = 0; i < 3; i += 1) expect((await infer('fragile', body, KEYS.acme)).status).toBe(200);

    const samples = await scrape(`${server.url}/metrics`, bearer(KEYS.admin));
    expect(metricValue(samples, 'switchyard_rate_limited_total', { tenant: 'limited' })).toBe(2);
    expect(metricValue(samples, 'switchyard_budget_rejected_total', { tenant: 'budgeted' })).toBe(3);
    expect(metricValue(samples, 'switchyard_cost_usd_total', { tenant: 'budgeted', model: 'mlp-priced' })).toBeCloseTo(
      BUDGETED_REQUESTS * 0.001,
      9,
    );
    expect(metricValue(samples, 'switchyard_idempotent_replays_total', { tenant: 'acme' })).toBe(2);
    // The broken tier failed twice (then its breaker opened) with its error code.
    expect(
      metricValue(samples, 'switchyard_inference_requests_total', { model: 'reshape', version: '1', outcome: 'inference_failed' }),
    ).toBe(2);
    expect(metricValue(samples, 'switchyard_tier_escalations_total', { route: 'fragile' })).toBe(3);
    expect(metricValue(samples, 'switchyard_circuit_breaker_state', { target: 'reshape:1' })).toBe(2);
    expect(labelValues(samples, 'switchyard_rate_limited_total', 'tenant')).toEqual(new Set(['limited']));
  });
});
