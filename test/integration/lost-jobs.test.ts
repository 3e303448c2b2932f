import { afterEach, describe, expect, it } from 'vitest';
import { startWorker } from '../../workers/main.js';
import { parseWorkerConfig } from '../../workers/config.js';
import { inferQueueName } from '../../workers/queue/queue-names.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { waitFor } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, testPrefix, testRedis } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A failover can promote a replica that never received a queued job: Redis acknowledged it,
 * then forgot it. Here the job is deleted from a real Redis, which leaves the same state.
 */
describe('a queued job that Redis loses', () => {
  it('is answered 503 request_lost within seconds, not at its deadline, and the version serves on', async () => {
    const repository = new TestRepository().copy('mlp-classifier');
    const prefix = testPrefix();
    const env = {
      ...REDIS_ENV,
      MODEL_REPOSITORY: repository.dir,
      REDIS_PREFIX: prefix,
      LOAD_MODELS: 'mlp-classifier',
      HEARTBEAT_MS: '200',
      LOG_LEVEL: 'silent',
      CPU_COUNT: '1',
    };
    cleanups.push(
      () => repository.remove(),
      () => cleanRedis(prefix),
    );
    // No worker yet: the version is cold, so the request is queued and waits.
    const gateway = await startTestGateway(repository.dir, env);
    cleanups.push(() => gateway.close());
    const redis = testRedis();
    cleanups.push(() => redis.quit());

    const queue = inferQueueName('mlp-classifier', '1');
    const key = `${redisKeys(prefix).queuePrefix(queue)}:${queue}`;
    const sentAt = Date.now();
    const reply = post(`${gateway.url}/v2/models/mlp-classifier/versions/1/infer`, mlpBody(1, { timeout_ms: 60_000 }));
    let jobId = '';
    await waitFor(
      async () => {
        jobId = (await redis.lrange(`${key}:wait`, 0, -1))[0] ?? '';
        return jobId !== '';
      },
      5_000,
      'the job queued',
    );
    await redis.multi().lrem(`${key}:wait`, 0, jobId).del(`${key}:${jobId}`).exec();

    const lost = await reply;
    expect(lost.status).toBe(503);
    expect(lost.json).toMatchObject({ code: 'request_lost' });
    expect(lost.headers.get('retry-after')).not.toBeNull();
    // Two lookups a sweep apart (2 s) and a read of the reply stream: far inside the 60 s timeout.
    expect(Date.now() - sentAt).toBeLessThan(15_000);

    const worker = await startWorker(parseWorkerConfig({ ...env, WORKER_ID: 'w' }));
    cleanups.push(() => worker.close());
    await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-classifier/versions/1/ready`)).status === 200, 10_000, 'ready');
    const retried = await post(`${gateway.url}/v2/models/mlp-classifier/versions/1/infer`, mlpBody(1));
    expect(retried.status).toBe(200);
  });
});
