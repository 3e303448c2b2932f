import { afterEach, describe, expect, it } from 'vitest';
import { get, post } from '../helpers/gateway.js';
import { launchWorker, spawnGateway, waitFor, type Spawned } from '../helpers/processes.js';
import { jobsInHand } from '../helpers/queue-state.js';
import { REDIS_ENV, cleanRedis, freePort, testPrefix, testRedis } from '../helpers/redis.js';

const spawned: Spawned[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  for (const child of spawned.splice(0)) child.kill('SIGKILL');
  for (const prefix of prefixes.splice(0)) await cleanRedis(prefix);
});

/** GET /ready on the worker's metrics listener: its status, or 0 while nothing listens. */
const readiness = (port: number): Promise<number> =>
  fetch(`http://127.0.0.1:${port}/ready`).then(
    (r) => r.status,
    () => 0,
  );

describe('worker readiness (GET /ready on METRICS_PORT, what a pod readiness probe asks)', () => {
  it('is 503 while the models load, 200 once every version is warm and consumed, 503 again while draining', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const env = {
      ...REDIS_ENV,
      REDIS_PREFIX: prefix,
      LOAD_MODELS: 'text-recognizer',
      CPU_COUNT: '1',
      HEARTBEAT_MS: '300',
      SHUTDOWN_GRACE_MS: '15000',
    };
    const gateway = await spawnGateway(env);
    spawned.push(gateway);
    const port = await freePort();
    const worker = launchWorker({ ...env, WORKER_ID: 'ready-w0', METRICS_PORT: String(port) });
    spawned.push(worker);

    // Loading: the listener is up before the models, and says not ready until they are warm.
    const seen: number[] = [];
    await waitFor(
      async () => {
        const status = await readiness(port);
        if (status !== 0) seen.push(status);
        return status === 200;
      },
      60_000,
      'worker ready',
    );
    expect(seen[0]).toBe(503);
    // The log line follows the first heartbeat, so it may come a moment after readiness.
    await waitFor(async () => worker.output().includes('"worker ready"'), 10_000, 'worker ready logged');
    expect(await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.json())).toEqual({ ready: true });

    // Draining: with jobs in hand, SIGTERM turns readiness off before the process exits.
    await waitFor(
      async () => (await get(`${gateway.url}/v2/models/text-recognizer/ready`)).status === 200,
      10_000,
      'model ready at the gateway',
    );
    const line = (seed: number) => ({
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [1, 3, 48, 640], data: Array.from({ length: 3 * 48 * 640 }, (_, i) => Math.sin(i + seed)) },
      ],
      parameters: { timeout_ms: 10_000 },
    });
    const inFlight = Array.from({ length: 8 }, (_, seed) => post(`${gateway.url}/v2/models/text-recognizer/infer`, line(seed)));
    const redis = testRedis();
    const inHand = (): Promise<number> => jobsInHand(redis, prefix, 'infer.text-recognizer.1');
    await waitFor(async () => (await inHand()) > 0, 10_000, 'jobs in hand');
    worker.kill('SIGTERM');
    const drained: number[] = [];
    let inHandAtFirst503: number | undefined;
    while (worker.process.exitCode === null) {
      const status = await readiness(port);
      if (status !== 0) drained.push(status);
      if (status === 503 && inHandAtFirst503 === undefined) inHandAtFirst503 = await inHand();
      await new Promise((r) => setTimeout(r, 5));
    }
    redis.disconnect();
    expect(await worker.exited).toBe(0);
    // Not ready as soon as draining starts, while the jobs in hand still run (not only once the models close).
    expect(inHandAtFirst503).toBeGreaterThan(0);
    // Once 503, never 200 again (the first answers may predate the signal's arrival).
    expect(drained.slice(drained.indexOf(503))).not.toContain(200);
    await Promise.all(inFlight);
  }, 120_000);
});
