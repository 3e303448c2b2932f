import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { get, post } from '../helpers/gateway.js';
import { MlpReference, mlpBody } from '../helpers/mlp-reference.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { QUEUE_ENGINE } from '../helpers/queue-state.js';
import { PrivateRedis, freePort, testPrefix } from '../helpers/redis.js';

/**
 * The gateway's reply reader must come back by itself when its connection is cut: the connection
 * is cut (CLIENT KILL) again and again while requests are in flight, on a private redis-server,
 * and every request is still answered, correctly, long before its deadline.
 */
const spawned: Spawned[] = [];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const child of spawned.splice(0)) child.kill('SIGKILL');
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * The connection cut: the gateway's reply reader's, under either engine. (A worker's blocking read
 * cut after Redis delivered its jobs leaves them to the stalled-job check, a lock's length later,
 * under both engines: not what this test is about.)
 */
const CUT = /^switchyard-gateway-replies-/;

describe('the reply reader across cut connections', () => {
  it(`${QUEUE_ENGINE}: connections cut every 150 ms under load: every request answered once, correctly, within seconds`, async () => {
    const server = new PrivateRedis(await freePort());
    await server.start();
    cleanups.push(() => server.stop());
    const env = {
      REDIS_URL: server.url,
      QUEUE_ENGINE,
      REDIS_PREFIX: testPrefix(),
      LOAD_MODELS: 'mlp-classifier',
      CPU_COUNT: '1',
      HEARTBEAT_MS: '300',
    };
    const gateway = await spawnGateway(env);
    spawned.push(gateway, await spawnWorker(env));
    await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-classifier/ready`)).status === 200, 15_000, 'ready');
    const admin = new Redis(server.url);
    cleanups.push(() => admin.quit());

    let cutting = true;
    let cuts = 0;
    const cutter = async (): Promise<void> => {
      while (cutting) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        const clients = String(await admin.client('LIST'))
          .split('\n')
          .map((line) => ({ id: /\bid=(\d+)/.exec(line)?.[1], name: /\bname=(\S*)/.exec(line)?.[1] ?? '' }))
          .filter((client) => client.id && CUT.test(client.name));
        for (const client of clients) cuts += Number(await admin.client('KILL', 'ID', client.id!));
      }
    };
    // One caller keeps the queue idle between requests (the reader parks and adds ride with its reads); two overlap.
    const results: { seed: number; status: number; sentAt: number; ms: number; data?: number[] }[] = [];
    let next = 0;
    const caller = async (): Promise<void> => {
      while (cutting) {
        const seed = next++;
        const sentAt = Date.now();
        const reply = await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(seed, { timeout_ms: 30_000 }));
        const outputs = reply.json.outputs as { data: number[] }[] | undefined;
        results.push({ seed, status: reply.status, sentAt, ms: Date.now() - sentAt, ...(outputs?.[0] ? { data: outputs[0].data } : {}) });
      }
    };
    const load = [caller(), caller(), caller(), cutter()];
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    cutting = false;
    await Promise.all(load);

    expect(cuts).toBeGreaterThan(10);
    expect(results.length).toBe(next);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    // A read lost with its connection and never sent again would leave its callers waiting out the 30 s deadline.
    expect(results.filter((r) => r.ms >= 5_000).map(({ seed, sentAt, ms }) => ({ seed, sentAt, ms }))).toEqual([]);
    const reference = await MlpReference.load();
    cleanups.push(() => reference.close());
    for (const result of results) expect(await reference.matches(result.seed, result.data!)).toBe(true);
    console.log(
      `${QUEUE_ENGINE}: ${results.length} requests, ${cuts} connections cut, slowest ${Math.max(...results.map((r) => r.ms))} ms`,
    );
  }, 60_000);
});
