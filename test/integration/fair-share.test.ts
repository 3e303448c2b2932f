import { afterEach, describe, expect, it } from 'vitest';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, testPrefix } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';
import { TENANT_KEYS, noisyNeighbour, writeTenantPolicy } from '../helpers/tenant-traffic.js';

const WIDTH = 160;
const DEPTH = 32;
const SAMPLES = 21;

const spawned: Spawned[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  for (const child of spawned.splice(0)) child.kill('SIGKILL');
  for (const prefix of prefixes.splice(0)) await cleanRedis(prefix);
});

/**
 * The recognizer, with batches of 4 rows: on two CPU cores a 16-row batch takes seconds, and
 * 32 requests would make only two of them, too shallow a backlog to tell fair from FIFO. Warmed
 * up at 4 rows only, so a noisy warm-up on a loaded machine cannot cap batches at 1 row (a batch
 * time then shrinks to the size of the fixed costs of a request). A queue deep enough for the
 * flood, and a timeout a loaded machine cannot reach.
 */
function repository(): TestRepository {
  return new TestRepository().copy('text-recognizer', {
    max_batch_size: 4,
    warmup: { enabled: true, batch_sizes: [4], dims: { x: [WIDTH] } },
    dynamic_batching: { preferred_batch_sizes: [4], max_queue_delay_ms: 10, max_queue_size: 256, default_timeout_ms: 60_000 },
  });
}

/**
 * B's idle p50 plus two batch times bounds its p50 while A floods: at worst it waits out the
 * batch running when it arrives, then runs in the next. Without fairness it waits for A's
 * whole queue as well (bench/loadtest's noisy-neighbour scenario measures that side by side).
 * Measured from queueing to answer (X-Queue-Ms + X-Compute-Ms, Redis wait included): on a
 * shared 2-core machine A's traffic also slows the HTTP and Redis path of every request by
 * CPU contention alone, which is no queueing. End to end at the gateway (X-Server-Ms), B still
 * has to beat A by half.
 */
async function expectFair(url: string): Promise<void> {
  const run = await noisyNeighbour(url, { width: WIDTH, depth: DEPTH, samples: SAMPLES });
  console.info(
    `noisy neighbour: B queued-to-answered p50 ${run.idleServedP50.toFixed(0)} ms idle, ${run.loadedServedP50.toFixed(0)} ms under the flood ` +
      `(queue ${run.loadedQueueP50.toFixed(0)} ms); at the gateway ${run.idleServerP50.toFixed(0)} -> ${run.loadedServerP50.toFixed(0)} ms, ` +
      `caller-side ${run.idleP50.toFixed(0)} -> ${run.loadedP50.toFixed(0)} ms; A at the gateway ${run.floodServerP50.toFixed(0)} ms; batch ${run.batchMs.toFixed(0)} ms of ${run.batchSize}`,
  );
  for (const reply of [...run.idle, ...run.loaded, ...run.flood]) expect(reply.status).toBe(200);
  expect(run.flood.length).toBeGreaterThan(DEPTH * 2);
  expect(run.batchMs).toBeGreaterThan(0);
  // A's backlog is real: its requests wait several batch times.
  expect(run.floodServerP50).toBeGreaterThan(4 * run.batchMs);
  expect(run.loadedServedP50).toBeLessThanOrEqual(run.idleServedP50 + 2 * run.batchMs);
  expect(run.loadedServerP50).toBeLessThan(run.floodServerP50 / 2);
}

describe('fair share between tenants on the text recognizer', () => {
  it('embedded: a tenant sending one at a time keeps its latency while another keeps 32 in flight', async () => {
    const repo = repository();
    // A process of its own (as in distributed mode), so the test's clients do not share its event loop.
    const gateway = await spawnGateway({
      MODEL_REPOSITORY: repo.dir,
      CPU_COUNT: '1',
      LOG_LEVEL: 'warn',
      SWITCHYARD_CONFIG: writeTenantPolicy(repo.dir),
    });
    spawned.push(gateway);
    await waitFor(
      async () =>
        (await fetch(`${gateway.url}/v2/models/text-recognizer/ready`, { headers: { authorization: `Bearer ${TENANT_KEYS.quiet}` } }))
          .status === 200,
      60_000,
      'model ready',
    );
    await expectFair(`${gateway.url}/v2/models/text-recognizer/infer`);
  }, 180_000);

  it("distributed: the same through the coalescer, Redis and the worker's batcher", async () => {
    const repo = repository();
    const prefix = testPrefix();
    prefixes.push(prefix);
    const env = {
      ...REDIS_ENV,
      REDIS_PREFIX: prefix,
      MODEL_REPOSITORY: repo.dir,
      LOAD_MODELS: 'text-recognizer',
      CPU_COUNT: '1',
      HEARTBEAT_MS: '300',
      LOG_LEVEL: 'warn',
      SWITCHYARD_CONFIG: writeTenantPolicy(repo.dir),
    };
    const gateway = await spawnGateway(env);
    spawned.push(gateway, await spawnWorker({ ...env, LOG_LEVEL: 'info', WORKER_ID: 'fair' }));
    await waitFor(
      async () =>
        (await fetch(`${gateway.url}/v2/models/text-recognizer/ready`, { headers: { authorization: `Bearer ${TENANT_KEYS.quiet}` } }))
          .status === 200,
      30_000,
      'worker ready',
    );
    await expectFair(`${gateway.url}/v2/models/text-recognizer/infer`);
  }, 240_000);
});
