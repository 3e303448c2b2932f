import { afterEach, describe, expect, it } from 'vitest';
import { get, post } from '../helpers/gateway.js';
import { MlpReference, mlpBody } from '../helpers/mlp-reference.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, testPrefix, testRedis } from '../helpers/redis.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { QUEUE_ENGINE, jobsInHand } from '../helpers/queue-state.js';

const spawned: Spawned[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  for (const child of spawned.splice(0)) child.kill('SIGKILL');
  for (const prefix of prefixes.splice(0)) await cleanRedis(prefix);
});

function environment(extra: Record<string, string> = {}): Record<string, string> {
  const prefix = testPrefix();
  prefixes.push(prefix);
  return { ...REDIS_ENV, REDIS_PREFIX: prefix, LOAD_MODELS: 'mlp-classifier', CPU_COUNT: '1', HEARTBEAT_MS: '300', ...extra };
}

async function gatewayAndWorkers(workers: number, extra: Record<string, string> = {}) {
  const env = environment(extra);
  const gateway = await spawnGateway(env);
  spawned.push(gateway);
  const started: Spawned[] = [];
  for (let i = 0; i < workers; i += 1) {
    const worker = await spawnWorker({ ...env, WORKER_ID: `w${i}` });
    spawned.push(worker);
    started.push(worker);
  }
  await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-classifier/ready`)).status === 200, 10_000, 'model ready');
  return { gateway, workers: started, env };
}

describe('distributed mode: gateway and workers as processes over Redis', () => {
  it('serves inferences through the queue with the same answers and metadata', async () => {
    const { gateway } = await gatewayAndWorkers(1);
    const reference = await MlpReference.load();
    const replies = await Promise.all(
      Array.from({ length: 48 }, (_, seed) => post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(seed))),
    );
    for (const [seed, reply] of replies.entries()) {
      expect(reply.status).toBe(200);
      const [output] = reply.json.outputs as { data: number[] }[];
      expect(await reference.matches(seed, output!.data)).toBe(true);
      expect(reply.headers.get('x-model-version')).toBe('1');
      expect(Number(reply.headers.get('x-compute-ms'))).toBeGreaterThan(0);
    }
    // Requests that arrived together were batched by the worker.
    expect(Math.max(...replies.map((r) => Number(r.headers.get('x-batch-size'))))).toBeGreaterThan(1);
    await reference.close();
    await waitFor(
      async () => {
        const stats = (await get(`${gateway.url}/v2/models/mlp-classifier/stats`)).json.model_stats as {
          version: string;
          inference_count: number;
        }[];
        return (stats.find((entry) => entry.version === '1')?.inference_count ?? 0) >= 48;
      },
      5_000,
      'worker statistics reach the gateway',
    );
  });

  it('takes work while no worker serves the model, whose own readiness says not ready; its requests wait queued', async () => {
    const env = environment();
    const gateway = await spawnGateway(env);
    spawned.push(gateway);
    // The gateway can queue (a pool scaled to zero starts on queued work); the model is not warm.
    expect((await get(`${gateway.url}/v2/health/ready`)).status).toBe(200);
    expect((await get(`${gateway.url}/v2/models/mlp-classifier/ready`)).status).toBe(503);
    const started = Date.now();
    const reply = await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(1, { timeout_ms: 800 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(750);
    expect(reply.status).toBe(503);
    expect(reply.json).toMatchObject({ code: 'request_timeout' });
    expect(reply.headers.get('retry-after')).toBe('1');

    // A worker arrives: the model becomes ready; it leaves: not ready again.
    const worker = await spawnWorker({ ...env, WORKER_ID: 'late' });
    spawned.push(worker);
    await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-classifier/ready`)).status === 200, 10_000, 'ready after worker');
    expect((await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(2))).status).toBe(200);
    worker.kill('SIGKILL');
    await waitFor(
      async () => (await get(`${gateway.url}/v2/models/mlp-classifier/ready`)).status === 503,
      10_000,
      'not ready after worker died',
    );
  });

  // It follows BullMQ's own records of who holds a job; streams-engine.test.ts does the same for the streams engine.
  it.skipIf(QUEUE_ENGINE !== 'bullmq')(
    'loses nothing when a worker is SIGKILLed mid-load: every request is answered, and correctly',
    async () => {
      // Each worker holds at most 16 jobs, so with 48 clients both hold some when one dies.
      const { gateway, workers, env } = await gatewayAndWorkers(2, {
        RESULT_RETENTION_JOBS: '100000',
        LOCK_DURATION_MS: '2000',
        STALLED_INTERVAL_MS: '1000',
        WORKER_CONCURRENCY: '16',
      });
      const reference = await MlpReference.load();
      // Enough that the load outlasts the search for a moment when w0 holds jobs on a fast, quiet machine.
      const total = 4000;
      let next = 0;
      let answered = 0;
      const results: { seed: number; status: number; json: Record<string, unknown>; ms: number }[] = [];
      const client = async (): Promise<void> => {
        while (next < total) {
          const seed = next++;
          const sent = Date.now();
          const reply = await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(seed)).catch((error: Error) => ({
            status: 0,
            json: { error: error.message },
          }));
          results.push({ seed, status: reply.status, json: reply.json, ms: Date.now() - sent });
          answered += 1;
        }
      };
      const clients = Array.from({ length: 48 }, client);
      await waitFor(async () => answered >= 100, 30_000, '100 answers');
      // Freeze w0 at a moment when it holds jobs (BullMQ records processedBy), then kill it:
      // those jobs must be taken over by w1 once their locks expire.
      const redis = testRedis();
      const queueKey = `${redisKeys(env.REDIS_PREFIX).queuePrefix('infer.mlp-classifier.1')}:infer.mlp-classifier.1`;
      let held = 0;
      let heldIds: string[] = [];
      for (let attempt = 0; held === 0 && attempt < 100 && next < total; attempt += 1) {
        workers[0]!.kill('SIGSTOP');
        // Let commands w0 sent before it stopped land, so what is active now is truly stuck.
        await new Promise((resolve) => setTimeout(resolve, 100));
        const active = await redis.lrange(`${queueKey}:active`, 0, -1);
        const owners = await Promise.all(active.map((id) => redis.hget(`${queueKey}:${id}`, 'pb')));
        heldIds = active.filter((_, i) => owners[i] === 'w0');
        held = heldIds.length;
        if (held === 0) {
          workers[0]!.kill('SIGCONT');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      expect(held).toBeGreaterThan(0);
      workers[0]!.kill('SIGKILL');
      await Promise.all(clients);

      expect(results).toHaveLength(total);
      const unanswered = results.filter((r) => r.status === 0);
      expect(unanswered).toEqual([]);
      let wrong = 0;
      for (const result of results.filter((r) => r.status === 200)) {
        const [output] = result.json.outputs as { data: number[] }[];
        if (!(await reference.matches(result.seed, output!.data))) wrong += 1;
      }
      expect(wrong).toBe(0);
      // Anything that was not a 200 is a clear, coded error (none expected: the survivor takes over).
      for (const result of results.filter((r) => r.status !== 200)) expect(result.json).toHaveProperty('code');
      expect(results.filter((r) => r.status === 200).length).toBe(total);
      // The jobs the killed worker held were taken over and finished by the survivor once
      // their locks expired (BullMQ records the worker that took a job as processedBy).
      await waitFor(
        async () => {
          const states = await Promise.all(heldIds.map((id) => redis.hmget(`${queueKey}:${id}`, 'pb', 'finishedOn')));
          return states.every(([owner, finishedOn]) => owner === 'w1' && finishedOn !== null);
        },
        15_000,
        'held jobs finished by w1',
      );
      redis.disconnect();
      await reference.close();
    },
    120_000,
  );

  it('a worker on SIGTERM finishes the jobs in hand, then exits within its grace period', async () => {
    const env = environment({ LOAD_MODELS: 'text-recognizer', SHUTDOWN_GRACE_MS: '15000' });
    const gateway = await spawnGateway(env);
    const worker = await spawnWorker({ ...env, WORKER_ID: 'draining' });
    spawned.push(gateway, worker);
    await waitFor(async () => (await get(`${gateway.url}/v2/models/text-recognizer/ready`)).status === 200, 10_000, 'ready');
    const line = (seed: number) => ({
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [1, 3, 48, 640], data: Array.from({ length: 3 * 48 * 640 }, (_, i) => Math.sin(i + seed)) },
      ],
      parameters: { timeout_ms: 5000 },
    });
    const inFlight = Array.from({ length: 8 }, (_, seed) => post(`${gateway.url}/v2/models/text-recognizer/infer`, line(seed)));
    // Wait until the worker has taken jobs, then stop it.
    const redis = testRedis();
    let active = 0;
    await waitFor(async () => (active = await jobsInHand(redis, env.REDIS_PREFIX, 'infer.text-recognizer.1')) > 0, 10_000, 'jobs in hand');
    redis.disconnect();
    const stoppedAt = Date.now();
    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
    const replies = await Promise.all(inFlight);
    // Jobs in hand were finished; any still queued time out with a clear 503, never vanish.
    expect(replies.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(active);
    for (const reply of replies.filter((r) => r.status !== 200))
      expect(reply.json).toMatchObject({ code: expect.stringMatching(/request_timeout|model_not_ready/) });
  }, 60_000);

  it('a gateway on SIGTERM answers what is in flight and exits', async () => {
    const { gateway, workers } = await gatewayAndWorkers(1);
    // A paused worker keeps the requests queued, so they are surely in flight at the gateway.
    workers[0]!.kill('SIGSTOP');
    const inFlight = Array.from({ length: 32 }, (_, seed) => post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(seed)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    gateway.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(gateway.process.exitCode).toBeNull(); // still draining
    workers[0]!.kill('SIGCONT');
    const replies = await Promise.all(inFlight);
    expect(replies.map((r) => r.status)).toEqual(new Array(32).fill(200));
    expect(await gateway.exited).toBe(0);
  });

  it('honours per-request priority: lower numbers are served first', async () => {
    const { gateway, workers } = await gatewayAndWorkers(1, { WORKER_CONCURRENCY: '1' });
    workers[0]!.kill('SIGSTOP');
    const answeredAt: { priority: number; at: number }[] = [];
    const send = (seed: number, priority: number) =>
      post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(seed, { priority })).then((reply) => {
        expect(reply.status).toBe(200);
        answeredAt.push({ priority, at: performance.now() });
      });
    // The first low request fills the stopped worker's intake (one job); what comes after waits,
    // in the gateway (fair release) or in Redis, and is served by priority: all high before the rest of low.
    const first = send(0, 10);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const low = Array.from({ length: 4 }, (_, i) => send(1 + i, 10));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const high = Array.from({ length: 4 }, (_, i) => send(100 + i, 1));
    await new Promise((resolve) => setTimeout(resolve, 200));
    workers[0]!.kill('SIGCONT');
    await Promise.all([first, ...low, ...high]);
    const lastHigh = Math.max(...answeredAt.filter((a) => a.priority === 1).map((a) => a.at));
    const lows = answeredAt
      .filter((a) => a.priority === 10)
      .map((a) => a.at)
      .sort((a, b) => a - b);
    expect(lows).toHaveLength(5);
    expect(lastHigh).toBeLessThan(lows[1]!);
  });
});
