import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { BudgetAccount } from '../../gateway/budget/budget-account.js';
import { MemoryBudgetStore, RedisBudgetStore, periodId, toPico, type BudgetStore } from '../../gateway/budget/budget-store.js';
import { MemorySpendLedger } from '../../gateway/ledger/spend-ledger.js';
import { StepFailedError } from '../../gateway/pipelines/run-pipeline.js';
import { hashKey, type RouteConfig } from '../../gateway/policy/policy-config.js';
import type { RunningServer } from '../../gateway/server.js';
import { get, startTestGateway } from '../helpers/gateway.js';
import { startInProcessCluster, type InProcessCluster } from '../helpers/in-process-cluster.js';
import { startPipelineBackend, type PipelineBackend } from '../helpers/pipeline-backend.js';
import { waitFor } from '../helpers/processes.js';
import { REDIS_URL, cleanRedis, testPrefix } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';
import { vowelLikeSpeech, wavFile } from '../helpers/wav.js';

/**
 * Task budgets with a pipeline whose model calls all come from a transform (the VAD loop,
 * one call per 512-sample window). Silero is priced per request here, so every figure is
 * exact: a 2 s clip at 16 kHz is 63 windows, 63 calls, 63 µUSD.
 */
const PER_CALL_USD = 1e-6;
const CLIP_CALLS = 63;
const clip = wavFile([vowelLikeSpeech(16_000, 2)], 16_000);
/** Two clips' reservations fit at once, a third does not. */
const TINY_BUDGET_USD = 2.5 * CLIP_CALLS * PER_CALL_USD;
const KEYS = { tiny: 'tiny-key', roomy: 'roomy-key' } as const;

const voiceActivityFile = join(import.meta.dirname, '../../models/voice-activity/pipeline.json');
const voiceActivity = JSON.parse(readFileSync(voiceActivityFile, 'utf8')) as { steps: { options?: Record<string, unknown> }[] };
const routedSteps = voiceActivity.steps.map((step, i) =>
  i === 0 ? { ...step, options: { ...step.options, model: 'vad-cascade' } } : step,
);
const repository = new TestRepository()
  .copy('silero-vad', { price: { usd_per_compute_second: 0, usd_per_request: PER_CALL_USD } })
  .copyPipeline('voice-activity')
  // The same pipeline, its VAD loop sent through a route instead of the model.
  .addPipeline('voice-routed', { ...voiceActivity, name: 'voice-routed', steps: routedSteps });
const configFile = join(repository.dir, 'switchyard.yaml');
// A speech probability never reaches 1 on silence, so every window runs both tiers.
const VAD_CASCADE = {
  name: 'vad-cascade',
  tiers: [
    { name: 'first', model: 'silero-vad' },
    { name: 'second', model: 'silero-vad' },
  ],
  policy: { type: 'cascade', output: 'output', threshold: 1 },
};
writeFileSync(
  configFile,
  stringify({
    tenants: [
      { name: 'tiny', keys: [{ sha256: hashKey(KEYS.tiny) }], models: ['voice-activity'], budget: { usd: TINY_BUDGET_USD, period: 'day' } },
      {
        name: 'roomy',
        keys: [{ sha256: hashKey(KEYS.roomy) }],
        models: ['voice-activity', 'voice-routed', 'silero-vad'],
        budget: { usd: 1, period: 'day' },
      },
    ],
    routes: [VAD_CASCADE],
  }),
);
afterAll(() => repository.remove());

const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
const ledgerPico = (ledger: MemorySpendLedger, tenant: string): Promise<number> => {
  const today = new Date().toISOString().slice(0, 10);
  return ledger.query({ from: today, to: today, tenant }).then((entries) => entries.reduce((sum, entry) => sum + toPico(entry.usd), 0));
};

describe('model calls made by a transform are held and charged one by one, in both budget stores', () => {
  let backend: PipelineBackend;
  const redis = new Redis(REDIS_URL);
  const prefix = testPrefix();
  beforeAll(async () => {
    backend = await startPipelineBackend(repository.dir, {}, [VAD_CASCADE as unknown as RouteConfig]);
  });
  afterAll(async () => {
    await backend.close();
    await cleanRedis(prefix);
    redis.disconnect();
  });

  const stores: [string, () => BudgetStore][] = [
    ['memory', () => new MemoryBudgetStore()],
    ['redis', () => new RedisBudgetStore(redis, prefix)],
  ];

  describe.each(stores)('%s store', (name, makeStore) => {
    it('a task whose calls outrun the budget stops at the call that would overrun, with 429 budget_exceeded, charged for the calls that ran', async () => {
      const store = makeStore();
      const tenant = `outrun-${name}`;
      const limitPico = toPico(40 * PER_CALL_USD);
      const account = new BudgetAccount(store, { tenant, period: 'total', limitPico, describe: 'test budget' });
      const ledger = new MemorySpendLedger();
      const tally = { usd: 0 };
      const payer = { tenant, budget: account, tally };
      const failure = await backend.run('voice-activity', { audio: clip }, [], { payer, ledger }).catch((error: unknown) => error);
      await account.close();
      expect(failure).toBeInstanceOf(StepFailedError);
      expect(failure).toMatchObject({ step: 'probabilities', code: 'budget_exceeded' });
      // Exactly 40 calls fit: the 41st is refused before it is sent.
      expect(await store.usage(tenant, 'total')).toEqual({ spentPico: limitPico, reservedPico: 0 });
      expect(await ledgerPico(ledger, tenant)).toBe(limitPico);
      expect(toPico(tally.usd)).toBe(limitPico);
    });

    it('200 calls racing from 20 accounts, with pools and without: spent + reserved never passes the limit', async () => {
      const store = makeStore();
      const tenant = `race-${name}`;
      const limitPico = 1_000;
      const limit = { tenant, period: 'total', limitPico, describe: 'test budget' };
      // Half the accounts start with a pool reserved up front, as a task does at submission.
      const accounts = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const pool = i % 2 === 0 && (await store.reserve(tenant, 'total', limitPico, 60)) ? 60 : 0;
          return new BudgetAccount(store, limit, pool);
        }),
      );
      let peak = 0;
      const call = async (account: BudgetAccount, i: number): Promise<boolean> => {
        try {
          const held = await account.hold(10 + (i % 7));
          const usage = await store.usage(tenant, 'total');
          peak = Math.max(peak, usage.spentPico + usage.reservedPico);
          // Some calls cost more than they held (charged what they held), some less, some nothing ran.
          if (i % 5 === 0) await account.release(held);
          else await account.charge(held, held.pico + (i % 3) - 1);
          return true;
        } catch (error) {
          expect(error).toMatchObject({ code: 'budget_exceeded' });
          return false;
        }
      };
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => call(accounts[i % 20]!, i)));
      await Promise.all(accounts.map((account) => account.close()));
      const usage = await store.usage(tenant, 'total');
      expect(results.filter((ran) => !ran).length).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(limitPico);
      expect(usage.reservedPico).toBe(0);
      expect(usage.spentPico).toBeLessThanOrEqual(limitPico);
      expect(usage.spentPico).toBe(accounts.reduce((sum, account) => sum + account.chargedPico, 0));
    });

    it("a call that ran nothing gives its hold back to the budget at once, with no close (an inference's account)", async () => {
      const store = makeStore();
      const tenant = `release-${name}`;
      const account = new BudgetAccount(store, { tenant, period: 'total', limitPico: 100, describe: 'test budget' });
      const held = await account.hold(60);
      expect(await store.usage(tenant, 'total')).toEqual({ spentPico: 0, reservedPico: 60 });
      await expect(account.hold(60)).rejects.toMatchObject({ code: 'budget_exceeded' });
      await account.release(held);
      expect(await store.usage(tenant, 'total')).toEqual({ spentPico: 0, reservedPico: 0 });
      await account.charge(await account.hold(60), 25);
      expect(await store.usage(tenant, 'total')).toEqual({ spentPico: 25, reservedPico: 0 });
    });

    it('concurrent tasks sharing a tiny budget never overrun it: some are stopped, the spend equals what ran', async () => {
      const store = makeStore();
      const tenant = `shared-${name}`;
      const limitPico = toPico(100 * PER_CALL_USD);
      const ledger = new MemorySpendLedger();
      const runs = Array.from({ length: 5 }, async () => {
        const account = new BudgetAccount(store, { tenant, period: 'total', limitPico, describe: 'test budget' });
        try {
          await backend.run('voice-activity', { audio: clip }, [], { payer: { tenant, budget: account }, ledger });
          return 'succeeded';
        } catch (error) {
          return (error as StepFailedError).code;
        } finally {
          await account.close();
        }
      });
      const outcomes = await Promise.all(runs);
      // 5 clips need 315 calls; the budget covers 100, so at most one clip can finish.
      expect(outcomes.filter((outcome) => outcome === 'budget_exceeded').length).toBeGreaterThanOrEqual(4);
      expect(outcomes.every((outcome) => outcome === 'succeeded' || outcome === 'budget_exceeded')).toBe(true);
      const usage = await store.usage(tenant, 'total');
      expect(usage.reservedPico).toBe(0);
      expect(usage.spentPico).toBeLessThanOrEqual(limitPico);
      // Calls are refused only when the next one would not fit, so the budget is used to the last call.
      expect(usage.spentPico).toBe(limitPico);
      expect(await ledgerPico(ledger, tenant)).toBe(usage.spentPico);
    });
  });
});

interface TaskJson {
  status: string;
  cost_usd?: number;
  error?: { code: string };
}

/** Posts a WAV as a task's whole body. */
async function submitClip(
  url: string,
  key: string,
  wav: Uint8Array,
  query = '',
): Promise<{ status: number; code?: string; taskId: string | null }> {
  const headers = { ...bearer(key), 'content-type': 'audio/wav' };
  const response = await fetch(`${url}/v1/tasks/voice-activity${query}`, { method: 'POST', headers, body: wav });
  const json = (await response.json()) as { code?: string };
  return { status: response.status, ...(json.code !== undefined ? { code: json.code } : {}), taskId: response.headers.get('x-task-id') };
}

async function spentUsd(url: string, key: string): Promise<{ total_usd: number; entries: { requests: number }[] }> {
  return (await get(`${url}/v1/spend`, bearer(key))).json as { total_usd: number; entries: { requests: number }[] };
}

/**
 * The same through the Task API, in both modes: embedded (memory store) and two gateways
 * sharing Redis (Redis store, tasks spread over both gateways).
 */
function taskApiChecks(
  mode: string,
  urls: () => readonly string[],
  redisUsage?: () => Promise<{ spentPico: number; reservedPico: number }>,
): void {
  describe(`${mode}: the Task API`, () => {
    it('5 concurrent clips against a budget of 2.5 clips: never over budget, some refused with 429 budget_exceeded', async () => {
      const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => submitClip(urls()[i % urls().length]!, KEYS.tiny, clip)));
      const succeeded = replies.filter((reply) => reply.status === 200).length;
      expect(succeeded).toBeGreaterThanOrEqual(1);
      expect(succeeded).toBeLessThanOrEqual(2);
      for (const reply of replies.filter((r) => r.status !== 200)) expect(reply).toMatchObject({ status: 429, code: 'budget_exceeded' });
      const expected = toPico(succeeded * CLIP_CALLS * PER_CALL_USD);
      if (redisUsage) expect(await redisUsage()).toEqual({ spentPico: expected, reservedPico: 0 });
      // Each gateway writes its ledger charges behind, in batches up to 50 ms apart.
      await waitFor(
        async () => toPico((await spentUsd(urls()[0]!, KEYS.tiny)).total_usd) === expected,
        5_000,
        'the ledger to show every charge',
      );
      expect((await spentUsd(urls()[0]!, KEYS.tiny)).total_usd).toBeLessThanOrEqual(TINY_BUDGET_USD);
      // What is left (half a clip) cannot cover another clip's reservation.
      if (succeeded === 2) expect(await submitClip(urls()[0]!, KEYS.tiny, clip)).toMatchObject({ status: 429, code: 'budget_exceeded' });
    });

    it('a task that fails at its deadline is charged for the calls that ran', async () => {
      const long = wavFile([vowelLikeSpeech(16_000, 30)], 16_000);
      const reply = await submitClip(urls()[0]!, KEYS.roomy, long, '?timeout_ms=400');
      expect(reply).toMatchObject({ code: 'request_timeout' });
      const task = (await get(`${urls()[0]!}/v1/tasks/${reply.taskId!}`, bearer(KEYS.roomy))).json as TaskJson;
      expect(task).toMatchObject({ status: 'failed', error: { code: 'request_timeout' } });
      const spend = await spentUsd(urls()[0]!, KEYS.roomy);
      const calls = spend.entries.reduce((sum, entry) => sum + entry.requests, 0);
      // Some windows ran before the deadline, not all 938 of the clip.
      expect(calls).toBeGreaterThan(0);
      expect(calls).toBeLessThan(938);
      expect(toPico(task.cost_usd!)).toBe(toPico(calls * PER_CALL_USD));
      expect(toPico(spend.total_usd)).toBe(toPico(calls * PER_CALL_USD));
    });
  });
}

describe('embedded gateway', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestGateway(repository.dir, { SWITCHYARD_CONFIG: configFile });
  });
  afterAll(() => server.close());
  taskApiChecks('embedded', () => [server.url]);
});

describe('a transform whose model is a route', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestGateway(repository.dir, { SWITCHYARD_CONFIG: configFile });
  });
  afterAll(() => server.close());

  it("sends each of its calls through the route's tiers, each tier charged and in the ledger", async () => {
    const silence = wavFile([new Float32Array(32_000)], 16_000);
    const headers = { ...bearer(KEYS.roomy), 'content-type': 'audio/wav' };
    const response = await fetch(`${server.url}/v1/tasks/voice-routed`, { method: 'POST', headers, body: silence });
    expect(response.status).toBe(200);
    const task = (await response.json()) as {
      cost_usd: number;
      result: { steps: { step: string; model_requests?: { requests: number } }[] };
    };
    expect(task.result.steps.find((step) => step.step === 'probabilities')?.model_requests?.requests).toBe(CLIP_CALLS);
    expect(toPico(task.cost_usd)).toBe(toPico(2 * CLIP_CALLS * PER_CALL_USD));
    const spend = await spentUsd(server.url, KEYS.roomy);
    expect(spend.entries.reduce((sum, entry) => sum + entry.requests, 0)).toBe(2 * CLIP_CALLS);
  });
});

describe('distributed gateways', () => {
  const prefix = testPrefix();
  const redis = new Redis(REDIS_URL);
  let cluster: InProcessCluster;
  beforeAll(async () => {
    const env = { SWITCHYARD_CONFIG: configFile, REDIS_URL, REDIS_PREFIX: prefix, CPU_COUNT: '1' };
    cluster = await startInProcessCluster(repository.dir, env, 'silero-vad', bearer(KEYS.roomy));
  });
  afterAll(async () => {
    await cluster.close();
    redis.disconnect();
  });
  const usage = async (): Promise<{ spentPico: number; reservedPico: number }> =>
    new RedisBudgetStore(redis, prefix).usage('tiny', periodId('day'));
  taskApiChecks('distributed', () => cluster.gateways.map((gateway) => gateway.url), usage);
});
