import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { echoModel } from '../helpers/identity-model.js';
import { spawnGateway, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, testPrefix } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

const REPORTER = resolve(import.meta.dirname, '../helpers/loaded-packages.mjs');
const QUEUE_LIBRARIES = ['bullmq', 'ioredis'];
const TRACING_SDK = ['@opentelemetry/sdk-trace-base', '@opentelemetry/exporter-trace-otlp-proto'];

/** The npm packages a running gateway has loaded (test/helpers/loaded-packages.mjs answers SIGUSR2). */
async function loadedPackages(gateway: Spawned): Promise<string[]> {
  const before = gateway.output().length;
  gateway.kill('SIGUSR2');
  await waitFor(async () => gateway.output().slice(before).includes('loaded-packages '), 10_000, 'loaded-packages line');
  const line = gateway
    .output()
    .slice(before)
    .split('\n')
    .find((text) => text.startsWith('loaded-packages '))!;
  return JSON.parse(line.slice('loaded-packages '.length)) as string[];
}

describe('what a gateway loads for its mode', () => {
  const repository = new TestRepository().add('echo', ...echoModel());
  const started: Spawned[] = [];
  const start = async (env: Record<string, string>) => {
    const gateway = await spawnGateway({ MODEL_REPOSITORY: repository.dir, NODE_OPTIONS: `--import ${REPORTER}`, ...env });
    started.push(gateway);
    return gateway;
  };
  afterAll(() => {
    for (const gateway of started) gateway.kill();
  });

  it('embedded, having served a call: no queue library and no tracing SDK', async () => {
    const gateway = await start({ REDIS_URL: '' });
    await waitFor(async () => (await fetch(`${gateway.url}/v2/health/ready`)).ok, 60_000, 'ready');
    const call = await fetch(`${gateway.url}/v2/models/echo/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }),
    });
    expect(call.status).toBe(200);
    const packages = await loadedPackages(gateway);
    expect(packages).toContain('fastify');
    expect(packages).toContain('onnxruntime-node');
    for (const name of [...QUEUE_LIBRARIES, ...TRACING_SDK]) expect(packages).not.toContain(name);
  });

  it('distributed loads the queue libraries; tracing on loads the SDK', async () => {
    const distributed = await start({ ...REDIS_ENV, REDIS_PREFIX: testPrefix() });
    const queued = await loadedPackages(distributed);
    for (const name of QUEUE_LIBRARIES) expect(queued).toContain(name);
    // Nothing listens on port 9: spans are dropped, which the gateway only logs.
    const traced = await start({ REDIS_URL: '', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    const packages = await loadedPackages(traced);
    for (const name of TRACING_SDK) expect(packages).toContain(name);
    for (const name of QUEUE_LIBRARIES) expect(packages).not.toContain(name);
  });
});
