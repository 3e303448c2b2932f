import { afterEach, describe, expect, it } from 'vitest';
import { get, post } from '../helpers/gateway.js';
import { metricValue, scrape } from '../helpers/metrics.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, freePort, testPrefix } from '../helpers/redis.js';

const spawned: Spawned[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  for (const child of spawned.splice(0)) child.kill('SIGKILL');
  for (const prefix of prefixes.splice(0)) await cleanRedis(prefix);
});

describe('metrics, distributed mode', () => {
  it('the worker exposes the serving families on METRICS_PORT; the gateway its own and the queue depth', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const env = { ...REDIS_ENV, REDIS_PREFIX: prefix, LOAD_MODELS: 'mlp-classifier', CPU_COUNT: '1', HEARTBEAT_MS: '300' };
    const gateway = await spawnGateway(env);
    spawned.push(gateway);
    const metricsPort = await freePort();
    spawned.push(await spawnWorker({ ...env, WORKER_ID: 'metrics-w0', METRICS_PORT: String(metricsPort) }));
    await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-classifier/ready`)).status === 200, 10_000, 'model ready');

    const count = 16;
    const replies = await Promise.all(
      Array.from({ length: count }, (_, seed) => post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(seed))),
    );
    expect(replies.every((reply) => reply.status === 200)).toBe(true);

    const worker = await scrape(`http://127.0.0.1:${metricsPort}/metrics`);
    const version = { model: 'mlp-classifier', version: '1' };
    expect(metricValue(worker, 'switchyard_inference_count_total', version)).toBe(count);
    expect(metricValue(worker, 'switchyard_execution_count_total', version)).toBeLessThanOrEqual(count);
    expect(metricValue(worker, 'switchyard_inference_requests_total', { ...version, outcome: 'success' })).toBe(count);
    expect(
      worker.some((s) => s.name === 'switchyard_process_resident_memory_bytes' || s.name === 'switchyard_nodejs_heap_size_used_bytes'),
    ).toBe(true);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status).toBe(404);

    const front = await scrape(`${gateway.url}/metrics`);
    expect(metricValue(front, 'switchyard_http_request_duration_seconds_count', { route: '/v2/models/:model/infer', status: '200' })).toBe(
      count,
    );
    expect(metricValue(front, 'switchyard_cost_usd_total', { tenant: 'local', model: 'mlp-classifier' })).toBeGreaterThan(0);
    expect(front.some((s) => s.name === 'switchyard_queue_depth' && s.labels.queue === 'infer.mlp-classifier.1')).toBe(true);
    // The serving families are the worker's: the gateway runs no model.
    expect(front.some((s) => s.name === 'switchyard_inference_count_total')).toBe(false);
  });
});
