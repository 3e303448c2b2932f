import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { SwitchyardClient } from '../../client/index.js';
import { toPico } from '../../gateway/budget/budget-store.js';
import { hashKey } from '../../gateway/policy/policy-config.js';
import { get } from '../helpers/gateway.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, testPrefix } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';
import { vowelLikeSpeech, wavFile } from '../helpers/wav.js';

/**
 * DELETE /v1/tasks/{id} with real processes, in both modes: embedded (memory store, local
 * dispatcher) and distributed (Redis store, queue dispatcher, a worker process). The VAD
 * pipeline is a loop of one model call per 32 ms window, priced per call, so what a cancelled
 * task ran and was charged are exact counts.
 */
const PER_CALL_USD = 1e-6;
const SECRET = 'cancel-callback-secret-0123456789';
const KEYS = { alpha: 'alpha-key', beta: 'beta-key', tight: 'tight-key', racer: 'racer-key', admin: 'ops-key' } as const;
/** 60 s of audio: 1,875 windows, several seconds of sequential calls. */
const LONG = wavFile([vowelLikeSpeech(16_000, 60)], 16_000);
const LONG_CALLS = 1_875;
/** 1 s: 32 windows, well under a second. */
const SHORT = wavFile([vowelLikeSpeech(16_000, 1)], 16_000);

const repository = new TestRepository()
  .copy('silero-vad', { price: { usd_per_compute_second: 0, usd_per_request: PER_CALL_USD } })
  .copyPipeline('voice-activity');
const configFile = join(repository.dir, 'switchyard.yaml');
const tenant = (name: string, key: string, extra: Record<string, unknown> = {}) => ({
  name,
  keys: [{ sha256: hashKey(key) }],
  models: ['voice-activity'],
  callback_secret: { env: 'CANCEL_CALLBACK_SECRET' },
  callback_allow: ['127.0.0.1'],
  ...extra,
});
writeFileSync(
  configFile,
  stringify({
    tenants: [
      { name: 'ops', role: 'admin', keys: [{ sha256: hashKey(KEYS.admin) }] },
      tenant('alpha', KEYS.alpha, { budget: { usd: 1, period: 'day' } }),
      tenant('beta', KEYS.beta),
      // Its own tenant, so its spend is the racing tasks' alone.
      tenant('racer', KEYS.racer, { budget: { usd: 1, period: 'day' } }),
      // Room for two long tasks' reservations and a half: after two, a third fits only if cancelled ones gave theirs back.
      tenant('tight', KEYS.tight, { budget: { usd: 2.5 * LONG_CALLS * PER_CALL_USD, period: 'day' } }),
    ],
  }),
);
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** Callbacks as received: task id → the bodies' statuses. */
const callbacks = new Map<string, string[]>();
let receiver: Server;
let receiverUrl = '';
const spawned: Spawned[] = [];
const prefixes: string[] = [];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const task = JSON.parse(body) as { id: string; status: string };
      callbacks.set(task.id, [...(callbacks.get(task.id) ?? []), task.status]);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
});
afterAll(async () => {
  for (const child of spawned) child.kill();
  for (const prefix of prefixes) await cleanRedis(prefix);
  await new Promise((resolve) => receiver.close(resolve));
  repository.remove();
});

interface TaskJson {
  id: string;
  status: string;
  cost_usd?: number;
  error?: { code: string };
}

async function submit(
  url: string,
  key: string,
  wav: Uint8Array,
  options: { async?: boolean; callback?: boolean; signal?: AbortSignal } = {},
): Promise<{ status: number; json: Record<string, unknown>; taskId: string | null }> {
  const query = options.callback ? `?callback_url=${encodeURIComponent(receiverUrl)}` : '';
  const headers: Record<string, string> = {
    ...bearer(key),
    'content-type': 'audio/wav',
    ...(options.async ? { prefer: 'respond-async' } : {}),
  };
  const response = await fetch(`${url}/v1/tasks/voice-activity${query}`, {
    method: 'POST',
    headers,
    body: wav,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown>, taskId: response.headers.get('x-task-id') };
}

async function cancel(url: string, id: string, key = KEYS.alpha): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}/v1/tasks/${id}`, { method: 'DELETE', headers: bearer(key) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const task = async (url: string, id: string, key = KEYS.alpha): Promise<TaskJson> =>
  (await get(`${url}/v1/tasks/${id}`, bearer(key))).json as unknown as TaskJson;

/** The task's events, read to the end of its stream (it ends after the final event). */
async function eventTypes(url: string, id: string, key: string = KEYS.alpha): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const response = await fetch(`${url}/v1/tasks/${id}/events`, { headers: bearer(key) });
  return (await response.text())
    .split('\n\n')
    .map((block) => ({
      type: /^event: (.*)$/m.exec(block)?.[1] ?? '',
      data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? '{}') as Record<string, unknown>,
    }))
    .filter((event) => event.type !== '');
}

async function rowsRun(url: string): Promise<number> {
  const stats = (await get(`${url}/v2/models/silero-vad/stats`, bearer(KEYS.admin))).json.model_stats as
    | { inference_count: number }[]
    | undefined;
  return (stats ?? []).reduce((sum, entry) => sum + entry.inference_count, 0);
}

async function spentUsd(url: string, key: string): Promise<number> {
  return ((await get(`${url}/v1/spend`, bearer(key))).json as { total_usd: number }).total_usd;
}

function checks(mode: string, start: () => Promise<string>): void {
  describe(`${mode}: DELETE /v1/tasks/{id}`, { timeout: 120_000 }, () => {
    let url = '';
    beforeAll(async () => {
      url = await start();
    }, 120_000);

    it('a running task stops: steps not started never run, its model calls stop, status cancelled, callback says so, charged for the calls that answered', async () => {
      const submitted = await submit(url, KEYS.alpha, LONG, { async: true, callback: true });
      expect(submitted.status).toBe(202);
      const id = submitted.json.id as string;
      await waitFor(async () => (await rowsRun(url)) >= 50, 30_000, 'the task running its calls');
      const reply = await cancel(url, id);
      expect(reply).toMatchObject({ status: 200, json: { id, status: 'cancelled', error: { code: 'task_cancelled' } } });
      // Its model calls stopped: the count holds still.
      await new Promise((resolve) => setTimeout(resolve, 600)); // distributed statistics travel by heartbeat
      const after = await rowsRun(url);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await rowsRun(url)).toBeLessThanOrEqual(after + 2);
      const ran = (reply.json.cost_usd as number) / PER_CALL_USD;
      expect(Math.round(ran)).toBeGreaterThan(0);
      expect(Math.round(ran)).toBeLessThan(LONG_CALLS);
      const events = (await eventTypes(url, id)).filter((event) => event.type !== 'callback-attempted');
      expect(events.at(-1)!.type).toBe('task-cancelled');
      // The segments step needed every window's probability: it never started.
      expect(events.some((event) => event.type === 'step-started' && event.data.step === 'segments')).toBe(false);
      await waitFor(async () => (callbacks.get(id) ?? []).length === 1, 10_000, 'the callback');
      expect(callbacks.get(id)).toEqual(['cancelled']);
      await waitFor(async () => toPico(await spentUsd(url, KEYS.alpha)) >= toPico(reply.json.cost_usd as number), 5_000, 'the ledger');
    });

    it('a task not started never runs: it leaves the queue, ends cancelled, costs nothing, and its reservation goes back', async () => {
      // One task at a time (TASK_CONCURRENCY=1): the second waits behind the first.
      const first = await submit(url, KEYS.tight, LONG, { async: true });
      const second = await submit(url, KEYS.tight, LONG, { async: true, callback: true });
      expect([first.status, second.status]).toEqual([202, 202]);
      const secondId = second.json.id as string;
      expect((await task(url, secondId, KEYS.tight)).status).toBe('queued');
      const reply = await cancel(url, secondId, KEYS.tight);
      expect(reply).toMatchObject({ status: 200, json: { status: 'cancelled', cost_usd: 0 } });
      expect(
        (await eventTypes(url, secondId, KEYS.tight)).map((event) => event.type).filter((type) => type !== 'callback-attempted'),
      ).toEqual(['task-queued', 'task-cancelled']);
      await waitFor(async () => (callbacks.get(secondId) ?? []).length === 1, 10_000, 'the callback');
      expect(callbacks.get(secondId)).toEqual(['cancelled']);
      // The first is cancelled too (running), with the TypeScript client: both reservations came back, so a third long task fits the budget.
      const client = new SwitchyardClient({ baseUrl: url, apiKey: KEYS.tight });
      expect(await client.tasks.cancel(first.json.id as string)).toMatchObject({ id: first.json.id, status: 'cancelled' });
      await expect(client.tasks.cancel(first.json.id as string)).rejects.toMatchObject({ status: 409, code: 'task_finished' });
      const third = await submit(url, KEYS.tight, LONG, { async: true });
      expect(third.status).toBe(202);
      expect((await cancel(url, third.json.id as string, KEYS.tight)).status).toBe(200);
    });

    it("hostile and late DELETEs: unknown id 404, another tenant's task 404, no key 401, a finished task 409 task_finished", async () => {
      expect(await cancel(url, 'no-such-task')).toMatchObject({ status: 404, json: { code: 'task_not_found' } });
      expect(await cancel(url, 'x'.repeat(100))).toMatchObject({ status: 404, json: { code: 'task_not_found' } });
      const done = await submit(url, KEYS.alpha, SHORT);
      expect(done.status).toBe(200);
      const id = done.json.id as string;
      expect(await cancel(url, id, KEYS.beta)).toMatchObject({ status: 404, json: { code: 'task_not_found' } });
      const anonymous = await fetch(`${url}/v1/tasks/${id}`, { method: 'DELETE' });
      expect(anonymous.status).toBe(401);
      expect(await cancel(url, id)).toMatchObject({ status: 409, json: { code: 'task_finished' } });
      expect((await task(url, id)).status).toBe('succeeded');
    });

    it('a synchronous task is cancelled with its caller; an asynchronous one outlives its caller', async () => {
      const leaving = new AbortController();
      const sync = submit(url, KEYS.alpha, LONG, { callback: true, signal: leaving.signal }).catch(() => undefined);
      const before = await rowsRun(url);
      await waitFor(async () => (await rowsRun(url)) >= before + 50, 30_000, 'the sync task running');
      leaving.abort();
      await sync;
      // Its callback names it (the caller never got its id) and says cancelled.
      await waitFor(
        async () =>
          [...callbacks.values()].some((statuses) => statuses.includes('cancelled') && statuses.length === 1) &&
          (await rowsRun(url)) < before + LONG_CALLS,
        15_000,
        'the callback',
      );
      await new Promise((resolve) => setTimeout(resolve, 600)); // distributed statistics travel by heartbeat
      const settled = await rowsRun(url);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await rowsRun(url)).toBeLessThanOrEqual(settled + 2);
      // Asynchronous: the submitting connection is gone at once, the task runs to its end.
      const controller = new AbortController();
      const submitted = await submit(url, KEYS.alpha, SHORT, { async: true, signal: controller.signal });
      controller.abort();
      await waitFor(async () => (await task(url, submitted.json.id as string)).status === 'succeeded', 30_000, 'the async task succeeded');
    });

    it('DELETEs racing completion are answered once each, and the task ends as its answer said, charged for what ran', async () => {
      // One task at a time, each DELETEd later into its run than the last: early ones are cancelled, late ones have ended.
      const ids: string[] = [];
      const replies: { status: number; json: Record<string, unknown> }[][] = [];
      for (let i = 0; i < 10; i += 1) {
        const id = (await submit(url, KEYS.racer, SHORT, { async: true, callback: true })).json.id as string;
        ids.push(id);
        await new Promise((resolve) => setTimeout(resolve, i * (mode === 'embedded' ? 60 : 250)));
        // Two DELETEs at once for the same task, as two clients might send.
        replies.push(await Promise.all([cancel(url, id, KEYS.racer), cancel(url, id, KEYS.racer)]));
        await waitFor(async () => ['cancelled', 'succeeded'].includes((await task(url, id, KEYS.racer)).status), 15_000, 'the task ended');
      }
      let charged = 0;
      for (const [index, pair] of replies.entries()) {
        const id = ids[index]!;
        for (const reply of pair) expect([200, 409]).toContain(reply.status);
        const final = await task(url, id, KEYS.racer);
        await waitFor(async () => (callbacks.get(id) ?? []).length >= 1, 15_000, 'the callback');
        expect(callbacks.get(id)).toEqual([final.status]);
        if (pair.some((reply) => reply.status === 200)) {
          expect(final.status).toBe('cancelled');
          for (const reply of pair) if (reply.status === 409) expect(reply.json).toMatchObject({ code: 'task_finished' });
        } else {
          expect(final.status).toBe('succeeded');
        }
        // Charged per call that answered: a whole number of calls, never more than the clip has.
        const calls = toPico(final.cost_usd ?? 0) / toPico(PER_CALL_USD);
        expect(Number.isInteger(calls)).toBe(true);
        expect(calls).toBeLessThanOrEqual(32);
        if (final.status === 'succeeded') expect(calls).toBe(32);
        charged += toPico(final.cost_usd ?? 0);
      }
      // The ledger holds exactly what the tasks say they were charged (it is written behind, within 50 ms).
      await waitFor(async () => toPico(await spentUsd(url, KEYS.racer)) === charged, 5_000, 'the ledger to match the tasks');
    });
  });
}

const baseEnv = {
  MODEL_REPOSITORY: repository.dir,
  SWITCHYARD_CONFIG: configFile,
  CANCEL_CALLBACK_SECRET: SECRET,
  CPU_COUNT: '1',
  TASK_CONCURRENCY: '1',
  LOG_LEVEL: 'warn',
};

checks('embedded', async () => {
  const gateway = await spawnGateway(baseEnv);
  spawned.push(gateway);
  await waitFor(async () => (await get(`${gateway.url}/v2/models/silero-vad/ready`, bearer(KEYS.admin))).status === 200, 60_000, 'ready');
  return gateway.url;
});

checks('distributed', async () => {
  const prefix = testPrefix();
  prefixes.push(prefix);
  const env = { ...baseEnv, ...REDIS_ENV, REDIS_PREFIX: prefix, HEARTBEAT_MS: '200', LOAD_MODELS: 'silero-vad' };
  const gateway = await spawnGateway(env);
  spawned.push(gateway);
  spawned.push(await spawnWorker({ ...env, LOG_LEVEL: 'info', WORKER_ID: 'task-cancel-w0', METRICS_PORT: '0' }));
  await waitFor(async () => (await get(`${gateway.url}/v2/models/silero-vad/ready`, bearer(KEYS.admin))).status === 200, 60_000, 'ready');
  return gateway.url;
});
