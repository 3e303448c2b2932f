import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { RunningServer } from '../../gateway/server.js';
import { parseWorkerConfig } from '../../workers/config.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { startWorker, type RunningWorker } from '../../workers/main.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, testPrefix, testRedis } from '../helpers/redis.js';
import { echoInput, taskFixture } from '../helpers/task-fixture.js';

/**
 * Retention given in fractional hours (1.1 h is 3960000.0000000005 ms in floating point) reaches
 * Redis as whole milliseconds: tasks, idempotency records and review items are stored, not 500s.
 */
const fixture = taskFixture();
const prefix = testPrefix();
const RETENTION_MS = 3_960_000;
let worker: RunningWorker;
let gateway: RunningServer;
let redis: RedisClient;

beforeAll(async () => {
  const policyFile = join(fixture.repository.dir, 'fractional.yaml');
  writeFileSync(
    policyFile,
    stringify({
      routes: [
        // echo-routed's route, and one that files every answer (echo's values are under 1) for review.
        {
          name: 'echo-cascade',
          tiers: [
            { name: 'first', model: 'echo' },
            { name: 'second', model: 'echo' },
          ],
          policy: { type: 'cascade', output: 'out_x', threshold: 1 },
        },
        { name: 'echo-reviewed', tiers: [{ name: 'only', model: 'echo' }], review: { threshold: 1, output: 'out_x' } },
      ],
      idempotency: { retention_hours: 1.1 },
      reviews: { retention_hours: 1.1 },
    }),
  );
  const env = {
    ...REDIS_ENV,
    REDIS_PREFIX: prefix,
    SWITCHYARD_CONFIG: policyFile,
    TASK_RETENTION_HOURS: '1.1',
    HEARTBEAT_MS: '300',
    CPU_COUNT: '1',
  };
  worker = await startWorker(parseWorkerConfig({ ...env, MODEL_REPOSITORY: fixture.repository.dir, WORKER_ID: 'w', LOG_LEVEL: 'silent' }));
  gateway = await startTestGateway(fixture.repository.dir, env);
  await waitFor(async () => (await get(`${gateway.url}/v2/models/echo/ready`)).status === 200, 10_000, 'echo ready');
  redis = testRedis();
});
afterAll(async () => {
  redis?.disconnect();
  await gateway?.close();
  await worker?.close();
  await cleanRedis(prefix);
  fixture.repository.remove();
});

const keys = redisKeys(prefix);
const inferBody = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4] }] };

describe('retention in fractional hours (distributed mode)', () => {
  it('stores tasks with a whole-millisecond expiry', async () => {
    const reply = await post(`${gateway.url}/v1/tasks/echo-json`, echoInput([0.1, 0.2, 0.3, 0.4]), { prefer: 'respond-async' });
    expect(reply.status).toBe(202);
    const ttl = await redis.pttl(keys.task(reply.json.id as string));
    expect(ttl).toBeGreaterThan(RETENTION_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(RETENTION_MS);
  });

  it('claims Idempotency-Keys on inferences and tasks, and replays them', async () => {
    for (let i = 0; i < 2; i++) {
      const infer = await post(`${gateway.url}/v2/models/echo/infer`, inferBody, { 'idempotency-key': 'frac-infer' });
      expect(infer.status).toBe(200);
      expect(infer.headers.get('idempotent-replayed')).toBe(i === 0 ? null : 'true');
      const task = await post(`${gateway.url}/v1/tasks/echo-json`, echoInput([0.5, 0.1, 0.1, 0.1]), { 'idempotency-key': 'frac-task' });
      expect(task.status).toBe(200);
      expect(task.headers.get('idempotent-replayed')).toBe(i === 0 ? null : 'true');
    }
  });

  it('files review items with a whole-millisecond expiry', async () => {
    const reply = await post(`${gateway.url}/v2/models/echo-reviewed/infer`, inferBody);
    expect(reply.status).toBe(200);
    const id = reply.headers.get('x-review-id');
    expect(id).toBeTruthy();
    const ttl = await redis.pttl(keys.reviewItem(id!));
    expect(ttl).toBeGreaterThan(RETENTION_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(RETENTION_MS);
  });
});
