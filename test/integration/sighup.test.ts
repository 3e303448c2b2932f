import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { echoModel } from '../helpers/identity-model.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, testPrefix } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

/** SIGHUP (a closed terminal, or a reload habit: nothing reloads) drains like SIGTERM instead of Node's instant exit. */
const repository = new TestRepository().add('echo', ...echoModel());
const prefix = testPrefix();
const spawned: Spawned[] = [];
afterAll(async () => {
  for (const child of spawned) child.kill('SIGKILL');
  await cleanRedis(prefix);
  repository.remove();
});

describe('SIGHUP', () => {
  it('a gateway answers the request whose body is still arriving, then exits 0', async () => {
    const gateway = await spawnGateway({ MODEL_REPOSITORY: repository.dir, CPU_COUNT: '1' });
    spawned.push(gateway);
    await waitFor(async () => (await fetch(`${gateway.url}/v2/models/echo/ready`)).status === 200, 30_000, 'echo ready');
    const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${gateway.url}/v2/models/echo/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        gateway.kill('SIGHUP');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 300);
    });
    const reply = await answer;
    // Received before the signal: answered before the process exits.
    expect(reply, reply.text).toMatchObject({ status: 200 });
    expect(await gateway.exited).toBe(0);
    expect(gateway.output()).toContain('switchyard: SIGHUP, draining');
  });

  it('a worker finishes and exits 0', async () => {
    const worker = await spawnWorker({
      ...REDIS_ENV,
      REDIS_PREFIX: prefix,
      MODEL_REPOSITORY: repository.dir,
      METRICS_PORT: '0',
      CPU_COUNT: '1',
    });
    spawned.push(worker);
    worker.kill('SIGHUP');
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toContain('switchyard worker: SIGHUP, finishing jobs in hand');
  });
});
