import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { get, post } from '../helpers/gateway.js';
import { buildIdentityModel } from '../helpers/identity-model.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_URL, cleanRedis, testPrefix } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

const identity = (): Uint8Array => buildIdentityModel([{ name: 'x', datatype: 'FP32', dims: ['batch', 2] }]);
const config = (versions: string[]): Record<string, unknown> => ({
  platform: 'onnx',
  versions: Object.fromEntries(versions.map((version) => [version, { weights: { source: 'file', path: 'model.onnx' } }])),
  version_policy: { specific: { versions: versions.map(Number) } },
  max_batch_size: 4,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [2] }],
  outputs: [{ name: 'out_x', datatype: 'FP32', shape: [2] }],
  price: { usd_per_compute_second: 0 },
});

const repository = new TestRepository().add('ident', config(['1']), { '1/model.onnx': identity() });
const prefix = testPrefix();
const spawned: Spawned[] = [];
afterAll(async () => {
  for (const child of spawned) child.kill('SIGKILL');
  await cleanRedis(prefix);
  repository.remove();
});

describe('MODEL_CONTROL=poll in distributed mode', () => {
  it('workers load a new version and consume its queue, gateways route to it; a removed model leaves both', async () => {
    const env = {
      REDIS_URL,
      REDIS_PREFIX: prefix,
      MODEL_REPOSITORY: repository.dir,
      CPU_COUNT: '1',
      HEARTBEAT_MS: '200',
      MODEL_CONTROL: 'poll',
      MODEL_CONTROL_POLL_MS: '200',
    };
    const worker = await spawnWorker({ ...env, WORKER_ID: 'poll-w0', METRICS_PORT: '0' });
    spawned.push(worker);
    const gateway = await spawnGateway(env);
    spawned.push(gateway);
    const request = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [3, 4] }], parameters: { timeout_ms: 2000 } };
    const infer = (model: string, version: string) => post(`${gateway.url}/v2/models/${model}/versions/${version}/infer`, request);
    await waitFor(async () => (await get(`${gateway.url}/v2/models/ident/versions/1/ready`)).status === 200, 20_000, 'version 1 ready');
    expect((await infer('ident', '2')).status).not.toBe(200);

    repository.add('ident', config(['1', '2']), { '2/model.onnx': identity() });
    await waitFor(async () => (await infer('ident', '2')).status === 200, 30_000, 'version 2 answered through the queue');
    expect(((await infer('ident', '2')).json.outputs as { data: number[] }[])[0]!.data).toEqual([3, 4]);
    expect(worker.output()).toContain('infer.ident.2');

    // A config that does not read: both sides keep what they serve; the gateway's index says why.
    writeFileSync(join(repository.dir, 'ident', 'config.json'), '{"name": "ident", ');
    const index = async () => (await post(`${gateway.url}/v2/repository/index`, {})).json as unknown as { name: string; reason: string }[];
    await waitFor(
      async () => (await index()).some((entry) => entry.reason.includes('config change refused')),
      10_000,
      'refusal in the index',
    );
    await waitFor(async () => worker.output().includes('repository change not loaded'), 10_000, 'worker kept its versions');
    expect((await infer('ident', '2')).status).toBe(200);
    expect((await infer('ident', '1')).status).toBe(200);

    // A request queued in the moment between the worker leaving the queue and the gateway
    // noticing waits out its timeout (as when a worker stops): hence the short timeout_ms above.
    rmSync(join(repository.dir, 'ident'), { recursive: true, force: true });
    await waitFor(async () => (await infer('ident', '1')).status === 404, 30_000, 'model gone at the gateway');
    await waitFor(async () => worker.output().includes('model removed from the repository: unloaded'), 10_000, 'worker unloaded it');
    expect(worker.output()).toContain('stopped consuming');
  });
});
