import { afterAll, describe, expect, it } from 'vitest';
import { renderFace } from '../helpers/face-images.js';
import { get, post } from '../helpers/gateway.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, testPrefix } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';
import { renderTextLine } from '../helpers/text-images.js';

const repository = new TestRepository()
  .copy('emotion')
  .copy('text-direction')
  .copyPipeline('facial-expression')
  .copyPipeline('text-orientation');
const prefix = testPrefix();
const spawned: Spawned[] = [];
afterAll(async () => {
  for (const child of spawned) child.kill('SIGKILL');
  await cleanRedis(prefix);
  repository.remove();
});

describe('pools per runtime in distributed mode', () => {
  it('a tf-pool worker serves the TF model and an onnx-pool worker the ONNX one, pipelines included', async () => {
    const env = { ...REDIS_ENV, REDIS_PREFIX: prefix, MODEL_REPOSITORY: repository.dir, CPU_COUNT: '1', HEARTBEAT_MS: '300' };
    const tfWorker = await spawnWorker({ ...env, WORKER_ID: 'tf-worker', WORKER_POOLS: 'tf' });
    const onnxWorker = await spawnWorker({ ...env, WORKER_ID: 'onnx-worker', WORKER_POOLS: 'onnx' });
    spawned.push(tfWorker, onnxWorker);
    expect(tfWorker.output()).toContain('"emotion:1"');
    expect(tfWorker.output()).not.toContain('text-direction');
    expect(onnxWorker.output()).toContain('text-direction');
    expect(onnxWorker.output()).not.toContain('"emotion');
    const gateway = await spawnGateway(env);
    spawned.push(gateway);
    // The gateway is ready with no worker (it queues); each pool's model says when it is warm.
    for (const model of ['emotion', 'text-direction']) {
      await waitFor(async () => (await get(`${gateway.url}/v2/models/${model}/ready`)).status === 200, 15_000, `${model} ready`);
    }

    const metadata = await get(`${gateway.url}/v2/models/emotion`);
    expect(metadata.json.providers).toEqual(['wasm']);
    const face = await post(`${gateway.url}/v1/tasks/facial-expression`, await renderFace('smile'), { 'content-type': 'image/png' });
    expect(face.status).toBe(200);
    expect((face.json.result as { outputs: { expressions: { label: string }[] } }).outputs.expressions[0]!.label).toBe('happy');
    const line = await post(`${gateway.url}/v1/tasks/text-orientation`, await renderTextLine('Pools apart', { rotate: 180 }), {
      'content-type': 'image/png',
    });
    expect(line.status).toBe(200);
    expect((line.json.result as { outputs: { orientation: { label: string }[] } }).outputs.orientation[0]!.label).toBe('upside-down');
  }, 60_000);
});
