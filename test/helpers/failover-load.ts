import { expect } from 'vitest';
import { get, post } from './gateway.js';
import { startInProcessCluster, type InProcessCluster } from './in-process-cluster.js';
import { QUEUE_ENGINE } from './queue-state.js';
import { waitFor } from './processes.js';
import { TASK_KEYS, bearerKey, echoInput, type taskFixture } from './task-fixture.js';

/**
 * A Redis failover under load, whatever Redis mode the stack runs on: six callers send
 * echo requests with Idempotency-Keys to both gateways and a submitter queues tasks; after
 * 2 s `fail` takes a master away. Then: quick 503s, service back within 15 s, every request
 * answered once with its own echo, no key run twice, refused keys retryable, every task finished.
 */
export interface FailoverOutcome {
  readonly requests: number;
  readonly refused: number;
  readonly refusedAtOnce: number;
  readonly resumedMs: number;
}

interface Answer {
  readonly gateway: number;
  readonly key: string;
  readonly values: number[];
  readonly sentAt: number;
  readonly ms: number;
  readonly status: number;
  readonly code?: string;
  readonly replayed: boolean;
  readonly output?: number[];
}

const outsider = bearerKey(TASK_KEYS.outsider);
const alpha = bearerKey(TASK_KEYS.alpha);
const echoBody = (values: number[]) => ({
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: values }],
  parameters: { timeout_ms: 10_000 },
});

async function send(stack: InProcessCluster, gateway: number, key: string, values: number[]): Promise<Answer> {
  const sentAt = Date.now();
  const reply = await post(`${stack.gateways[gateway]!.url}/v2/models/echo/infer`, echoBody(values), {
    ...outsider,
    'idempotency-key': key,
  });
  const outputs = reply.json.outputs as { data: number[] }[] | undefined;
  return {
    gateway,
    key,
    values,
    sentAt,
    ms: Date.now() - sentAt,
    status: reply.status,
    replayed: reply.headers.get('idempotent-replayed') === 'true',
    ...(typeof reply.json.code === 'string' ? { code: reply.json.code } : {}),
    ...(outputs?.[0] ? { output: outputs[0].data } : {}),
  };
}

/** Two gateways and a worker on the echo fixture, against the Redis that `redisEnv` names. */
export function startFailoverStack(
  fixture: ReturnType<typeof taskFixture>,
  redisEnv: Record<string, string>,
  prefix: string,
  extra: Record<string, string> = {},
): Promise<InProcessCluster> {
  const env = {
    ...fixture.env,
    ...redisEnv,
    QUEUE_ENGINE,
    REDIS_PREFIX: prefix,
    LOAD_MODELS: 'echo',
    CPU_COUNT: '1',
    HEARTBEAT_MS: '200',
    // A failover can undo a task job's finish: taken over within the test, not the default 45 s.
    TASK_LOCK_DURATION_MS: '4000',
    TASK_STALLED_INTERVAL_MS: '2000',
    ...extra,
  };
  return startInProcessCluster(fixture.repository.dir, env, 'echo', bearerKey(TASK_KEYS.admin));
}

/**
 * `refusedWithinMs`: how soon a refusal must come. A Cluster client retries a command through up
 * to 16 redirections 200 ms apart before it gives up (about 3.2 s); a Sentinel one fails at once.
 */
export async function failoverUnderLoad(
  stack: InProcessCluster,
  fail: () => Promise<void>,
  refusedWithinMs = 3_000,
): Promise<FailoverOutcome> {
  const answers: Answer[] = [];
  const tasks: string[] = [];
  let next = 0;
  let killedAt = 0;
  let stopAt = Number.POSITIVE_INFINITY;
  const client = async (lane: number): Promise<void> => {
    while (Date.now() < stopAt) {
      const n = next++;
      const answer = await send(stack, lane % 2, `key-${n}`, [n, n + 1, n + 2, n + 3]);
      answers.push(answer);
      if (answer.status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const submitter = async (): Promise<void> => {
    for (let i = 0; Date.now() < stopAt; i += 1) {
      const reply = await post(`${stack.gateways[i % 2]!.url}/v1/tasks/echo-json`, echoInput([i, i, i, i]), {
        ...alpha,
        prefer: 'respond-async',
      });
      if (reply.status === 202) tasks.push(reply.json.id as string);
      else expect(reply.status, `${JSON.stringify(reply.json)} (${reply.headers.get('x-request-id')})`).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const load = [...Array.from({ length: 6 }, (_, lane) => client(lane)), submitter()];

  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await fail();
  killedAt = Date.now();
  // Back once each gateway has served a request sent after the kill; then three more seconds of load.
  const servedAfter = (gateway: number) => answers.some((a) => a.gateway === gateway && a.sentAt > killedAt && a.status === 200);
  await waitFor(
    async () => servedAfter(0) && servedAfter(1),
    Number(process.env.FAILOVER_RESUME_MS ?? 15_000),
    'service resumed on both gateways within 15 s of the kill',
  ).catch((error: Error) => {
    // What the callers met meanwhile says which part did not come back.
    const after = answers.filter((a) => a.sentAt > killedAt).map((a) => `gateway ${a.gateway}: ${a.status} ${a.code ?? ''} ${a.ms} ms`);
    throw new Error(`${error.message}; answers since the kill: ${after.slice(-40).join(', ')}; tasks ${tasks.length}`);
  });
  // When the later of the two gateways first served a request sent after the kill.
  const firstServed = (gateway: number) =>
    Math.min(...answers.filter((a) => a.gateway === gateway && a.sentAt > killedAt && a.status === 200).map((a) => a.sentAt + a.ms));
  const resumedMs = Math.max(firstServed(0), firstServed(1)) - killedAt;
  stopAt = Date.now() + 3_000;
  await Promise.all(load);

  // Every request answered, with 200 or 503; the 503s say why, and the ones Redis refused came quickly.
  expect(answers.length).toBe(next);
  const unexpected = answers.filter((a) => a.status !== 200 && a.status !== 503);
  expect(unexpected).toEqual([]);
  const refused = answers.filter((a) => a.status === 503);
  // request_lost: queued on the old master, never replicated, and found gone after the promotion.
  for (const answer of refused)
    expect(['backend_unavailable', 'model_not_ready', 'request_lost', 'request_timeout']).toContain(answer.code);
  const unavailable = refused.filter((a) => a.code === 'backend_unavailable' || a.code === 'model_not_ready');
  expect(Math.max(0, ...unavailable.map((a) => a.ms))).toBeLessThan(refusedWithinMs);
  // Every answer is the echo of its own request.
  for (const answer of answers.filter((a) => a.status === 200)) expect(answer.output).toEqual(answer.values);

  // Exactly once: every key answered 200 replays that answer, from either gateway, without running again.
  const served = answers.filter((a) => a.status === 200);
  const again = await Promise.all(served.map((a) => send(stack, (a.gateway + 1) % 2, a.key, a.values)));
  const ranTwice = again.filter((a) => a.status !== 200 || !a.replayed);
  expect(ranTwice).toEqual([]);
  for (const [i, answer] of again.entries()) expect(answer.output).toEqual(served[i]!.output);

  // Keys refused during the outage can be retried: their claims were released (in the
  // background once Redis was back), so each retry runs or replays; none stays 409.
  let pending = refused;
  for (let round = 0; pending.length > 0 && round < 30; round += 1) {
    const retried = await Promise.all(pending.map((a, i) => send(stack, i % 2, a.key, a.values)));
    for (const answer of retried.filter((r) => r.status === 200)) expect(answer.output).toEqual(answer.values);
    // 409: the claim's release has not landed yet; 503 at once: a gateway still reconnecting. Both
    // are what a client retries; what counts is that each key ends run once or replayed.
    const transient = (r: (typeof retried)[number]) =>
      r.status === 409 || (r.status === 503 && (r.code === 'backend_unavailable' || r.code === 'model_not_ready'));
    expect(retried.filter((r) => r.status !== 200 && !transient(r))).toEqual([]);
    pending = retried.filter(transient);
    if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  expect(pending.map((a) => a.key)).toEqual([]);

  // Every task accepted before, during or after the failover finishes.
  expect(tasks.length).toBeGreaterThan(0);
  let unfinished: unknown[] = [];
  await waitFor(
    async () => {
      const records = await Promise.all(tasks.map(async (id) => (await get(`${stack.gateways[0]!.url}/v1/tasks/${id}`, alpha)).json));
      unfinished = records.filter((record) => record.status !== 'succeeded');
      return unfinished.length === 0;
    },
    30_000,
    'every accepted task succeeded',
  ).catch((error: Error) => {
    throw new Error(`${error.message}: ${JSON.stringify(unfinished)}`);
  });
  return { requests: answers.length, refused: refused.length, refusedAtOnce: unavailable.length, resumedMs };
}
