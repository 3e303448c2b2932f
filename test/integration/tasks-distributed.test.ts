import { afterAll, describe, expect, it } from 'vitest';
import { get, post } from '../helpers/gateway.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, testPrefix } from '../helpers/redis.js';
import { TASK_KEYS, bearerKey, echoInput, taskFixture } from '../helpers/task-fixture.js';

const fixture = taskFixture();
const prefix = testPrefix();
const idlePrefix = testPrefix();
const spawned: Spawned[] = [];
afterAll(async () => {
  for (const child of spawned) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  await cleanRedis(prefix);
  await cleanRedis(idlePrefix);
  fixture.repository.remove();
});

const env = {
  ...fixture.env,
  ...REDIS_ENV,
  REDIS_PREFIX: prefix,
  MODEL_REPOSITORY: fixture.repository.dir,
  CPU_COUNT: '1',
  HEARTBEAT_MS: '300',
  // A task whose gateway dies is taken over within a few seconds.
  TASK_LOCK_DURATION_MS: '2000',
  TASK_STALLED_INTERVAL_MS: '1000',
};
const alpha = bearerKey(TASK_KEYS.alpha);

interface TaskJson {
  status: string;
  runs: number;
  result?: { outputs: { echoed: { data: number[] } } };
}

/** Reads a task's event stream until `pattern` shows up (true) or 10 s pass (false); the stream of a running task stays open. */
async function readEventsUntil(url: string, pattern: RegExp): Promise<boolean> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  let text = '';
  try {
    const response = await fetch(url, { headers: alpha, signal: controller.signal });
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      if (pattern.test(text)) return true;
    }
    return false;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

const task = async (url: string, id: string): Promise<TaskJson> => (await get(`${url}/v1/tasks/${id}`, alpha)).json as unknown as TaskJson;

describe('tasks in distributed mode', () => {
  it('live in Redis: another gateway answers for them, and a task whose gateway is killed mid-run is finished by another', async () => {
    const worker = await spawnWorker({ ...env, WORKER_ID: 'task-worker' });
    spawned.push(worker);
    const first = await spawnGateway(env);
    spawned.push(first);
    await waitFor(
      async () => (await get(`${first.url}/v2/models/echo/ready`, bearerKey(TASK_KEYS.admin))).status === 200,
      10_000,
      'echo ready',
    );

    // Synchronous and asynchronous tasks through the queue.
    const sync = await post(`${first.url}/v1/tasks/echo-json`, echoInput([1, 2, 3, 4]), alpha);
    expect(sync.status).toBe(200);
    expect((sync.json as unknown as TaskJson).result!.outputs.echoed.data).toEqual([1, 2, 3, 4]);
    const queued = await post(`${first.url}/v1/tasks/echo-json`, echoInput([5, 6, 7, 8]), { ...alpha, prefer: 'respond-async' });
    expect(queued.status).toBe(202);
    const doneId = queued.json.id as string;
    await waitFor(async () => (await task(first.url, doneId)).status === 'succeeded', 10_000, 'async task done');

    // Freeze the worker so the next task stays in its model step, then kill its gateway.
    worker.kill('SIGSTOP');
    const stuck = await post(`${first.url}/v1/tasks/echo-json`, echoInput([9, 9, 9, 9]), { ...alpha, prefer: 'respond-async' });
    const stuckId = stuck.json.id as string;
    expect(await readEventsUntil(`${first.url}/v1/tasks/${stuckId}/events`, /event: step-started\ndata: \{[^\n]*"step":"echo"/)).toBe(true);
    first.kill('SIGKILL');
    await first.exited;

    const second = await spawnGateway(env);
    spawned.push(second);
    // Finished tasks outlive the gateway that ran them.
    const survived = await task(second.url, doneId);
    expect(survived.status).toBe('succeeded');
    expect(survived.result!.outputs.echoed.data).toEqual([5, 6, 7, 8]);

    worker.kill('SIGCONT');
    await waitFor(
      async () => (await task(second.url, stuckId)).status === 'succeeded',
      30_000,
      'orphaned task finished by the second gateway',
    );
    const finished = await task(second.url, stuckId);
    expect(finished.runs).toBe(2);
    expect(finished.result!.outputs.echoed.data).toEqual([9, 9, 9, 9]);
    const events = await (await fetch(`${second.url}/v1/tasks/${stuckId}/events`, { headers: alpha })).text();
    expect([...events.matchAll(/^event: task-started$/gm)]).toHaveLength(2);
    expect(events).toMatch(/event: task-succeeded/);
  }, 90_000);

  it('an asynchronous task waits for a worker instead of failing; a synchronous one waits within its timeout', async () => {
    const idleEnv = { ...env, REDIS_PREFIX: idlePrefix };
    const gateway = await spawnGateway(idleEnv);
    spawned.push(gateway);

    // Nobody on the line waits for an asynchronous task: with no worker yet, it keeps running.
    const queued = await post(`${gateway.url}/v1/tasks/echo-json`, echoInput([4, 3, 2, 1]), { ...alpha, prefer: 'respond-async' });
    expect(queued.status).toBe(202);
    const id = queued.json.id as string;
    // The caller of a synchronous task is: its model call queues for the cold version as inference
    // requests do, and the caller gets the 503 at its timeout.
    const started = Date.now();
    const refused = await post(`${gateway.url}/v1/tasks/echo-json`, { ...echoInput([1, 1, 1, 1]), timeout_ms: 1_000 }, alpha);
    expect(refused.status).toBe(503);
    expect(refused.json.code).toMatch(/request_timeout|model_not_ready/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    // It waits no longer than its deadline, then fails with the refusal it kept getting.
    const brief = await post(
      `${gateway.url}/v1/tasks/echo-json`,
      { ...echoInput([2, 2, 2, 2]), timeout_ms: 1_000 },
      { ...alpha, prefer: 'respond-async' },
    );
    const briefId = brief.json.id as string;
    await waitFor(async () => (await task(gateway.url, briefId)).status === 'failed', 5_000, 'task failed at its deadline');
    const expired = (await get(`${gateway.url}/v1/tasks/${briefId}`, alpha)).json as { error: { code: string } };
    expect(['model_not_ready', 'request_timeout']).toContain(expired.error.code);
    expect((await task(gateway.url, id)).status).toBe('running');

    const worker = await spawnWorker({ ...idleEnv, WORKER_ID: 'late-worker' });
    spawned.push(worker);
    await waitFor(async () => (await task(gateway.url, id)).status === 'succeeded', 20_000, 'task done once a worker serves the model');
    const done = await task(gateway.url, id);
    expect(done.runs).toBe(1);
    expect(done.result!.outputs.echoed.data).toEqual([4, 3, 2, 1]);
  }, 60_000);
});
