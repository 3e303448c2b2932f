import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, post } from '../helpers/gateway.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, testPrefix } from '../helpers/redis.js';
import { TASK_KEYS, bearerKey, echoInput, taskFixture } from '../helpers/task-fixture.js';

/**
 * Distributed mode: callbacks are jobs any gateway takes, one attempt at a time, so a delivery
 * outlives the gateway that began it, whether it is stopped (SIGTERM: it finishes the attempt in
 * flight) or killed (its job's lock expires), and a delivery resumed elsewhere keeps to
 * CALLBACK_ATTEMPTS. Real gateway and worker processes, real Redis, a real receiver.
 */
const fixture = taskFixture();
const prefix = testPrefix();
const spawned: Spawned[] = [];
const alpha = bearerKey(TASK_KEYS.alpha);
const env = {
  ...fixture.env,
  ...REDIS_ENV,
  REDIS_PREFIX: prefix,
  MODEL_REPOSITORY: fixture.repository.dir,
  CPU_COUNT: '1',
  HEARTBEAT_MS: '300',
  TASK_LOCK_DURATION_MS: '2000',
  TASK_STALLED_INTERVAL_MS: '1000',
  CALLBACK_ATTEMPTS: '3',
  CALLBACK_TIMEOUT_MS: '1500',
  CALLBACK_BACKOFF_MS: '1000',
  // Shorter than a whole delivery to a receiver that never answers (3 x 1.5 s + 1 s + 2 s).
  SHUTDOWN_GRACE_MS: '4000',
};

/** Requests per path. /hang/… is never answered; /flaky/… only from its second request on (204). */
const hits = new Map<string, number>();
let receiver: Server;
let receiverUrl = '';

beforeAll(async () => {
  receiver = createServer((request, response) => {
    request.resume();
    const path = request.url ?? '';
    const count = (hits.get(path) ?? 0) + 1;
    hits.set(path, count);
    if (path.startsWith('/flaky/') && count > 1) response.writeHead(204).end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
});
afterAll(async () => {
  for (const child of spawned) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  receiver.closeAllConnections();
  receiver.close();
  await cleanRedis(prefix);
  fixture.repository.remove();
});

interface TaskJson {
  id: string;
  status: string;
  callback?: { state: string; attempts: { attempt: number; status?: number; error?: string }[] };
}

const task = async (url: string, id: string): Promise<TaskJson> => (await get(`${url}/v1/tasks/${id}`, alpha)).json as unknown as TaskJson;
const ended = async (url: string, id: string): Promise<TaskJson> => {
  await waitFor(async () => (await task(url, id)).callback?.state !== 'pending', 30_000, `callback of ${id} ended`);
  return task(url, id);
};
const attempts = (one: TaskJson): unknown[] => one.callback!.attempts.map(({ attempt, status, error }) => ({ attempt, status, error }));

describe('callbacks in distributed mode', () => {
  it('outlive their gateway: a stopped one finishes the attempt in flight, another makes the rest, up to CALLBACK_ATTEMPTS', async () => {
    spawned.push(await spawnWorker({ ...env, WORKER_ID: 'callback-worker' }));
    const first = await spawnGateway(env);
    spawned.push(first);
    await waitFor(
      async () => (await get(`${first.url}/v2/models/echo/ready`, bearerKey(TASK_KEYS.admin))).status === 200,
      10_000,
      'echo ready',
    );
    const sync = await post(
      `${first.url}/v1/tasks/echo-json`,
      { ...echoInput([1, 2, 3, 4]), callback_url: `${receiverUrl}/flaky/sync` },
      alpha,
    );
    expect(sync.status).toBe(200);
    const queued = await post(
      `${first.url}/v1/tasks/echo-json`,
      { ...echoInput([5, 6, 7, 8]), callback_url: `${receiverUrl}/hang/async` },
      { ...alpha, prefer: 'respond-async' },
    );
    expect(queued.status).toBe(202);
    await waitFor(async () => hits.has('/flaky/sync') && hits.has('/hang/async'), 10_000, 'first attempts under way');

    const stopping = Date.now();
    first.kill('SIGTERM');
    // Drained within the grace: it waited for its attempts in flight (1.5 s at most), not for whole deliveries.
    expect(await first.exited).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(3_000);
    const second = await spawnGateway(env);
    spawned.push(second);

    const delivered = await ended(second.url, sync.json.id as string);
    expect(delivered.callback!.state).toBe('delivered');
    // The first attempt, recorded by the stopped gateway; the second, by the new one.
    expect(attempts(delivered)).toEqual([
      { attempt: 1, status: undefined, error: 'delivery failed' },
      { attempt: 2, status: 204, error: undefined },
    ]);
    expect(hits.get('/flaky/sync')).toBe(2);

    const failed = await ended(second.url, queued.json.id as string);
    expect(failed.status).toBe('succeeded');
    expect(failed.callback!.state).toBe('failed');
    expect(attempts(failed)).toEqual([1, 2, 3].map((attempt) => ({ attempt, status: undefined, error: 'delivery failed' })));
    expect(hits.get('/hang/async')).toBe(3);
  }, 120_000);

  it('a delivery whose gateway is killed mid-attempt is made by another once its lock expires', async () => {
    // Alone, so the job is its: its attempts wait 20 s for an answer, long after it is killed.
    const previous = spawned.at(-1)!;
    previous.kill('SIGTERM');
    expect(await previous.exited).toBe(0);
    const doomed = await spawnGateway({ ...env, CALLBACK_TIMEOUT_MS: '20000' });
    spawned.push(doomed);
    const sync = await post(
      `${doomed.url}/v1/tasks/echo-json`,
      { ...echoInput([4, 3, 2, 1]), callback_url: `${receiverUrl}/flaky/killed` },
      alpha,
    );
    expect(sync.status).toBe(200);
    await waitFor(async () => hits.has('/flaky/killed'), 10_000, 'attempt under way');
    doomed.kill('SIGKILL');
    await doomed.exited;
    const heir = await spawnGateway(env);
    spawned.push(heir);

    const delivered = await ended(heir.url, sync.json.id as string);
    expect(delivered.callback!.state).toBe('delivered');
    // The killed gateway's attempt never got written: the heir's is attempt 1 again, and answered.
    expect(attempts(delivered)).toEqual([{ attempt: 1, status: 204, error: undefined }]);
    expect(hits.get('/flaky/killed')).toBe(2);
  }, 60_000);
});
