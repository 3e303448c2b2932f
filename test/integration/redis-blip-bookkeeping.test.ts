import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { get, post, type Reply } from '../helpers/gateway.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { KEYS, PRICED, bearer, policyFixture } from '../helpers/policy-fixture.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { QUEUE_ENGINE } from '../helpers/queue-state.js';
import { PrivateRedis, freePort, testPrefix } from '../helpers/redis.js';

/**
 * A Redis blip while requests run: the gateway's policy connection (budget, idempotency,
 * ledger, audit) is cut (CLIENT KILL) again and again under load, on a private redis-server.
 * Whatever a cut hits, once the model has run the caller gets its answer, and the bookkeeping
 * catches up: no reservation is left reserved, each Idempotency-Key ran the model once, and
 * the budget, the ledger and the model's run count all agree.
 */
const TENANT = 'blip';
const SECRET = 'blip-secret';
const PRICE_PICO = PRICED.usd_per_request * 1e12;
const fixture = policyFixture();
const spawned: Spawned[] = [];
let redis: PrivateRedis;
let admin: Redis;
let gateway: Spawned & { url: string };
const prefix = testPrefix();

beforeAll(async () => {
  redis = new PrivateRedis(await freePort());
  await redis.start();
  admin = new Redis(redis.url);
  const policy = {
    tenants: [
      { name: 'ops', role: 'admin', keys: [{ env: 'SY_ADMIN_KEY' }] },
      { name: TENANT, keys: [{ sha256: hashKey(SECRET) }], models: ['mlp-priced'], budget: { usd: 100, period: 'total' } },
    ],
  };
  const configFile = join(fixture.repository.dir, 'blip.yaml');
  writeFileSync(configFile, stringify(policy));
  const env = {
    ...fixture.env,
    SWITCHYARD_CONFIG: configFile,
    REDIS_URL: redis.url,
    QUEUE_ENGINE,
    REDIS_PREFIX: prefix,
    MODEL_REPOSITORY: fixture.repository.dir,
    LOAD_MODELS: 'mlp-priced',
    CPU_COUNT: '1',
    HEARTBEAT_MS: '200',
  };
  gateway = await spawnGateway(env);
  spawned.push(gateway, await spawnWorker(env));
  await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-priced/ready`, bearer(KEYS.admin))).status === 200, 30_000, 'ready');
}, 90_000);
afterAll(async () => {
  for (const child of spawned) child.kill('SIGKILL');
  admin?.disconnect();
  await redis?.stop();
  fixture.repository.remove();
});

/** Cuts every connection named `name` every `everyMs` until `stop()`; resolves with the number cut. */
function cutting(name: string, everyMs: number): { stop: () => Promise<number> } {
  let on = true;
  let cuts = 0;
  const loop = (async () => {
    while (on) {
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      const ids = String(await admin.client('LIST'))
        .split('\n')
        .filter((line) => line.includes(` name=${name} `))
        .map((line) => /\bid=(\d+)/.exec(line)?.[1])
        .filter((id): id is string => id !== undefined);
      for (const id of ids) cuts += Number(await admin.client('KILL', 'ID', id));
    }
  })();
  return {
    stop: async () => {
      on = false;
      await loop;
      return cuts;
    },
  };
}

const infer = (key: string, seed: number): Promise<Reply> =>
  post(`${gateway.url}/v2/models/mlp-priced/infer`, mlpBody(seed), { ...bearer(SECRET), 'idempotency-key': key });

async function usage(): Promise<{ spent: number; reserved: number }> {
  const [spent, reserved] = await admin.hmget(redisKeys(prefix).budget(TENANT, 'total'), 'spent', 'reserved');
  return { spent: Number(spent ?? 0), reserved: Number(reserved ?? 0) };
}

async function runs(): Promise<number> {
  const stats = (await get(`${gateway.url}/v2/models/mlp-priced/stats`, bearer(KEYS.admin))).json.model_stats as {
    inference_count: number;
  }[];
  return stats.reduce((sum, entry) => sum + entry.inference_count, 0);
}

describe('bookkeeping across a Redis blip', () => {
  it(`${QUEUE_ENGINE}: policy connection cut every 100 ms under load: answers stand, nothing leaks, every count agrees`, async () => {
    const first = new Map<string, Reply>();
    let next = 0;
    let loading = true;
    const caller = async (): Promise<void> => {
      while (loading) {
        const i = next++;
        first.set(`k${i}`, await infer(`k${i}`, i));
      }
    };
    const cutter = cutting('switchyard-gateway-policy', 100);
    const load = [caller(), caller(), caller(), caller()];
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    loading = false;
    await Promise.all(load);
    const cuts = await cutter.stop();

    const firstStatuses = [...first.values()].map((reply) => reply.status);
    expect(cuts).toBeGreaterThan(10);
    expect(firstStatuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    for (const reply of first.values()) if (reply.status === 503) expect(reply.json).toMatchObject({ code: 'backend_unavailable' });

    // The failed writes are retried in the background (1, 2, 3 ... s apart): every reservation comes back.
    await waitFor(async () => (await usage()).reserved === 0, 30_000, 'no reservation left');

    // Each key once more: an answered key replays (its answer was kept), a refused one runs now.
    const again = new Map<string, Reply>();
    for (const key of first.keys()) {
      let reply = await infer(key, Number(key.slice(1)));
      for (let i = 0; i < 100 && reply.status === 409; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        reply = await infer(key, Number(key.slice(1)));
      }
      again.set(key, reply);
    }
    const rerun = [...first.keys()].filter(
      (key) => first.get(key)!.status === 200 && again.get(key)!.headers.get('idempotent-replayed') !== 'true',
    );
    expect(rerun).toEqual([]);
    expect([...again.values()].filter((reply) => reply.status !== 200).map((reply) => reply.json)).toEqual([]);

    // Every key ran the model exactly once, was charged once, and is in the ledger once.
    const keys = first.size;
    await waitFor(async () => (await runs()) >= keys, 10_000, 'statistics');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await runs()).toBe(keys);
    expect(await usage()).toEqual({ spent: keys * PRICE_PICO, reserved: 0 });
    await waitFor(
      async () =>
        Math.abs(((await get(`${gateway.url}/v1/spend`, bearer(SECRET))).json.total_usd as number) - keys * PRICED.usd_per_request) < 1e-9,
      15_000,
      'the ledger',
    );
    const served = firstStatuses.filter((status) => status === 200).length;
    console.log(`${QUEUE_ENGINE}: ${keys} keys, ${cuts} cuts, first answers: ${served} x 200, ${keys - served} x 503`);
  }, 120_000);
});
