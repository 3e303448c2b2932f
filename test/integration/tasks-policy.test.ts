import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post } from '../helpers/gateway.js';
import { startTestGateway } from '../helpers/gateway.js';
import { BUDGETED_TASKS, ECHO_PRICE_USD, TASK_KEYS, bearerKey, echoInput, taskFixture } from '../helpers/task-fixture.js';

const fixture = taskFixture();
let server: RunningServer;
const submit = (key: string, body: unknown, headers: Record<string, string> = {}) =>
  post(`${server.url}/v1/tasks/echo-json`, body, { ...bearerKey(key), ...headers });

beforeAll(async () => {
  server = await startTestGateway(fixture.repository.dir, fixture.env);
});
afterAll(async () => {
  await server.close();
  fixture.repository.remove();
});

describe('tasks pass the policy layer', () => {
  it('runs the pipeline for a tenant allowed to call it, with the cost of its model step', async () => {
    const reply = await submit(TASK_KEYS.alpha, echoInput([1, 2, 3, 4]));
    expect(reply.status).toBe(200);
    const result = reply.json.result as { outputs: { echoed: { datatype: string; shape: number[]; data: number[] } }; cost_usd: number };
    expect(result.outputs.echoed).toMatchObject({ datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] });
    expect(result.cost_usd).toBeCloseTo(ECHO_PRICE_USD, 12);
  });

  it('a model step naming a route runs its tiers: a cascade escalates, each tier charged and in the ledger', async () => {
    const before = await get(`${server.url}/v1/spend`, bearerKey(TASK_KEYS.alpha));
    const reply = await post(`${server.url}/v1/tasks/echo-routed`, echoInput([0.5, 0.25, 0.125, 0.75]), bearerKey(TASK_KEYS.alpha));
    expect(reply.status).toBe(200);
    const result = reply.json.result as {
      outputs: { echoed: { data: number[] } };
      cost_usd: number;
      steps: { step: string; model?: string }[];
    };
    expect(result.outputs.echoed.data).toEqual([0.5, 0.25, 0.125, 0.75]);
    expect(result.cost_usd).toBeCloseTo(2 * ECHO_PRICE_USD, 12);
    const after = await get(`${server.url}/v1/spend`, bearerKey(TASK_KEYS.alpha));
    expect((after.json.total_usd as number) - (before.json.total_usd as number)).toBeCloseTo(2 * ECHO_PRICE_USD, 12);
  });

  it('401 without a key, 403 for a tenant that may not call the pipeline', async () => {
    expect((await post(`${server.url}/v1/tasks/echo-json`, echoInput([1, 2, 3, 4]))).json.code).toBe('unauthorized');
    const forbidden = await submit(TASK_KEYS.outsider, echoInput([1, 2, 3, 4]));
    expect({ status: forbidden.status, code: forbidden.json.code }).toEqual({ status: 403, code: 'forbidden' });
  });

  it('GET /v1/pipelines lists only the pipelines a key may run, and only the models it may call', async () => {
    type Listed = { name: string; steps: { id: string; model?: string; kind?: string }[] }[];
    const list = async (key: string) => (await get(`${server.url}/v1/pipelines`, bearerKey(key))).json.pipelines as Listed;
    const beta = await list(TASK_KEYS.beta);
    expect(beta.map((pipeline) => pipeline.name)).toEqual(['echo-json']);
    // beta may run echo-json but not call its model by name: the step says a model runs, not which.
    const step = beta[0]!.steps.find((candidate) => candidate.kind === 'model' || candidate.model !== undefined)!;
    expect(step).toMatchObject({ kind: 'model' });
    expect(JSON.stringify(beta)).not.toContain('"model":');
    expect(await list(TASK_KEYS.outsider)).toEqual([]);
    expect((await get(`${server.url}/v1/pipelines`)).json.code).toBe('unauthorized');
  });

  it('a rate limit counts task requests like any other', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await submit(TASK_KEYS.limited, echoInput([i, i, i, i]))).status);
    expect(statuses).toEqual([200, 200, 429]);
    const limited = await submit(TASK_KEYS.limited, echoInput([1, 2, 3, 4]));
    expect(limited.json.code).toBe('rate_limited');
    expect(limited.headers.get('retry-after')).not.toBeNull();
  });

  it("a tenant cannot read another tenant's task; an admin can", async () => {
    const reply = await submit(TASK_KEYS.alpha, echoInput([5, 6, 7, 8]));
    const id = reply.json.id as string;
    expect((await get(`${server.url}/v1/tasks/${id}`, bearerKey(TASK_KEYS.alpha))).status).toBe(200);
    const other = await get(`${server.url}/v1/tasks/${id}`, bearerKey(TASK_KEYS.beta));
    expect({ status: other.status, code: other.json.code }).toEqual({ status: 404, code: 'task_not_found' });
    expect((await get(`${server.url}/v1/tasks/${id}/events`, bearerKey(TASK_KEYS.beta))).status).toBe(404);
    expect((await get(`${server.url}/v1/tasks/${id}`, bearerKey(TASK_KEYS.admin))).status).toBe(200);
  });

  it('an Idempotency-Key replays the same task instead of running it again', async () => {
    const headers = { 'idempotency-key': 'order-77', prefer: 'respond-async' };
    const first = await submit(TASK_KEYS.alpha, echoInput([1, 1, 1, 1]), headers);
    const second = await submit(TASK_KEYS.alpha, echoInput([1, 1, 1, 1]), headers);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.json.id).toBe(first.json.id);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.headers.get('x-task-id')).toBe(first.json.id);
    const reused = await submit(TASK_KEYS.alpha, echoInput([2, 2, 2, 2]), headers);
    expect({ status: reused.status, code: reused.json.code }).toEqual({ status: 422, code: 'idempotency_key_reused' });
    // The same key and body asked synchronously is not a second run of the pipeline.
    const sync = await submit(TASK_KEYS.alpha, echoInput([1, 1, 1, 1]), { 'idempotency-key': 'order-77' });
    expect({ status: sync.status, code: sync.json.code }).toEqual({ status: 422, code: 'idempotency_key_reused' });
    // Another tenant's identical key is its own record.
    const beta = await submit(TASK_KEYS.beta, echoInput([1, 1, 1, 1]), headers);
    expect(beta.json.id).not.toBe(first.json.id);
  });

  it('a budget stops tasks once it cannot cover the next one, and the spend is in the ledger', async () => {
    for (let i = 0; i < BUDGETED_TASKS; i += 1) expect((await submit(TASK_KEYS.budgeted, echoInput([i, i, i, i]))).status).toBe(200);
    const refused = await submit(TASK_KEYS.budgeted, echoInput([9, 9, 9, 9]));
    expect({ status: refused.status, code: refused.json.code }).toEqual({ status: 429, code: 'budget_exceeded' });
    const spend = await get(`${server.url}/v1/spend`, bearerKey(TASK_KEYS.budgeted));
    const ledger = spend.json as { total_usd: number; entries: { model: string }[] };
    expect(ledger.entries.map((entry) => entry.model)).toEqual(['echo']);
    expect(ledger.total_usd).toBeCloseTo(BUDGETED_TASKS * ECHO_PRICE_USD, 9);
  });

  it('refuses callback_url for a tenant with no callback secret', async () => {
    const reply = await submit(TASK_KEYS.beta, { ...echoInput([1, 2, 3, 4]), callback_url: 'http://127.0.0.1:9/hook' });
    expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 400, code: 'invalid_parameter' });
  });

  it('audits task requests under the pipeline name', async () => {
    const audit = await get(`${server.url}/v1/admin/audit?limit=1000`, bearerKey(TASK_KEYS.admin));
    const entries = (audit.json as { entries: { route: string; tenant: string; status: number; costUsd: number }[] }).entries;
    const tasks = entries.filter((entry) => entry.route === 'echo-json');
    expect(tasks.some((entry) => entry.tenant === 'alpha' && entry.status === 200 && entry.costUsd > 0)).toBe(true);
    expect(tasks.some((entry) => entry.tenant === 'outsider' && entry.status === 403)).toBe(true);
  });

  it('a JSON input that is not a tensor fails the first step with a clear error', async () => {
    const reply = await submit(TASK_KEYS.alpha, { inputs: { value: { datatype: 'FP32', shape: [1, 4], data: [1, 2] } } });
    expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 400, code: 'shape_data_mismatch' });
    expect(reply.json.error).toMatch(/step "to-tensor"/);
  });
});
