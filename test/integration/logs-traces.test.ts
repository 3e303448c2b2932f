import { afterAll, describe, expect, it } from 'vitest';
import { get, post } from '../helpers/gateway.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, testPrefix } from '../helpers/redis.js';

const prefix = testPrefix();
const spawned: Spawned[] = [];
afterAll(async () => {
  for (const child of spawned) child.kill('SIGKILL');
  await cleanRedis(prefix);
});

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

/** The JSON log lines a process wrote with the given message. */
const linesWith = (output: string, msg: string): Record<string, unknown>[] =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === msg);

describe('logs and traces', () => {
  it('a traceparent is continued by the gateway, carried through the queue, and both logs name the trace', async () => {
    const env = {
      ...REDIS_ENV,
      REDIS_PREFIX: prefix,
      LOAD_MODELS: 'mlp-classifier',
      CPU_COUNT: '1',
      HEARTBEAT_MS: '300',
      LOG_LEVEL: 'info',
    };
    const worker = await spawnWorker({ ...env, WORKER_ID: 'traced' });
    const gateway = await spawnGateway(env);
    spawned.push(worker, gateway);
    await waitFor(async () => (await get(`${gateway.url}/v2/models/mlp-classifier/ready`)).status === 200, 10_000, 'model ready');

    const reply = await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(3), {
      traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`,
      'x-request-id': 'trace-test-1',
    });
    expect(reply.status).toBe(200);
    // Logs carry the gateway's own id; the caller's X-Request-Id is kept as clientRequestId.
    const requestId = reply.headers.get('x-request-id')!;
    expect(requestId).not.toBe('trace-test-1');
    // The response names the gateway's own span in the caller's trace.
    const [, traceId, spanId, flags] = reply.headers.get('traceparent')!.split('-');
    expect({ traceId, flags }).toEqual({ traceId: TRACE_ID, flags: '01' });
    expect(spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(spanId).not.toBe(CALLER_SPAN);

    await waitFor(
      async () => linesWith(worker.output(), 'inference').some((line) => line.requestId === requestId),
      5_000,
      'worker log line',
    );
    await waitFor(
      async () => linesWith(gateway.output(), 'request').some((line) => line.requestId === requestId),
      5_000,
      'gateway log line',
    );
    const gatewayLine = linesWith(gateway.output(), 'request').find((line) => line.requestId === requestId)!;
    // Each key once: log pipelines disagree on which of two duplicates wins.
    const rawLine = gateway
      .output()
      .split('\n')
      .find((line) => line.includes('"msg":"request"') && line.includes('trace-test-1'))!;
    expect(rawLine.split('"requestId":').length - 1).toBe(1);
    expect(gatewayLine).toMatchObject({
      clientRequestId: 'trace-test-1',
      traceId: TRACE_ID,
      tenant: 'local',
      route: '/v2/models/:model/infer',
      target: 'mlp-classifier',
      model: 'mlp-classifier',
      version: '1',
      status: 200,
    });
    for (const field of ['queueMs', 'computeMs', 'costUsd', 'durationMs']) expect(typeof gatewayLine[field]).toBe('number');
    const workerLine = linesWith(worker.output(), 'inference').find((line) => line.requestId === requestId)!;
    expect(workerLine).toMatchObject({
      traceId: TRACE_ID,
      traceparent: `00-${TRACE_ID}-${spanId}-01`,
      model: 'mlp-classifier',
      version: '1',
      outcome: 'ok',
    });
    expect(typeof workerLine.computeMs).toBe('number');

    // A malformed traceparent starts a new trace instead of failing the request.
    const fresh = await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(4), { traceparent: 'not-a-trace' });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(fresh.headers.get('traceparent')!.split('-')[1]).not.toBe(TRACE_ID);
    // Errors are logged with their code.
    const bad = await post(`${gateway.url}/v2/models/mlp-classifier/infer`, { inputs: 'nope' }, { 'x-request-id': 'trace-test-bad' });
    expect(bad.status).toBe(400);
    await waitFor(
      async () =>
        linesWith(gateway.output(), 'request').some(
          (line) => line.clientRequestId === 'trace-test-bad' && line.code === 'invalid_request' && line.status === 400,
        ),
      5_000,
      'error log line',
    );
  }, 60_000);
});
