import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import { post } from '../helpers/gateway.js';
import { InferenceClient, mlpRequest } from '../helpers/grpc-client.js';
import { mlpBody, mlpVector } from '../helpers/mlp-reference.js';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlp/otlp-receiver.js';
import { spawnGateway, spawnWorker, waitFor, type Spawned } from '../helpers/processes.js';
import { REDIS_ENV, cleanRedis, freePort, testPrefix } from '../helpers/redis.js';
import { TASK_KEYS, echoInput, taskFixture } from '../helpers/task-fixture.js';

const KEY = 'traced-secret';
const CALLER_SPAN = '00f067aa0ba902b7';
const auth = { authorization: `Bearer ${KEY}` };
const traceId = (n: number): string => `${n.toString(16).padStart(4, '0')}${'5ad0'.repeat(7)}`;
const traceparent = (id: string, flags = '01'): string => `00-${id}-${CALLER_SPAN}-${flags}`;

/** A tenant with a rate limit, a concurrency limit and a budget, so every policy step runs. */
function policyFile(): string {
  const file = join(tmpdir(), `otel-policy-${process.pid}-${Date.now()}.yaml`);
  writeFileSync(
    file,
    stringify({
      tenants: [
        {
          name: 'traced',
          keys: [{ sha256: hashKey(KEY) }],
          rate_limit: { max: 10_000, window_ms: 60_000 },
          max_concurrency: 100,
          budget: { usd: 1_000, period: 'day' },
        },
      ],
    }),
  );
  return file;
}

/** Export quickly so the test does not wait out the 5 s default. */
const otelEnv = (receiver: { endpoint: string }, extra: Record<string, string> = {}): Record<string, string> => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
  OTEL_BSP_SCHEDULE_DELAY: '50',
  OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-token=t0ken',
  ...extra,
});

const MODEL_ENV = { LOAD_MODELS: 'mlp-classifier', CPU_COUNT: '1', LOG_LEVEL: 'info' };

const spawned: Spawned[] = [];
const receivers: OtlpReceiver[] = [];
const prefix = testPrefix();
let policy: string;
beforeAll(() => {
  policy = policyFile();
});
afterAll(async () => {
  for (const child of spawned) child.kill('SIGKILL');
  for (const receiver of receivers) await receiver.close();
  await cleanRedis(prefix);
});

async function receiver(): Promise<OtlpReceiver> {
  const started = await OtlpReceiver.start();
  receivers.push(started);
  return started;
}

const byName = (spans: readonly ReceivedSpan[], name: string): ReceivedSpan => {
  const found = spans.filter((span) => span.name === name);
  expect(found, `one span named "${name}" in ${spans.map((span) => span.name).join(', ')}`).toHaveLength(1);
  return found[0]!;
};

/**
 * The SDK anchors each span's clock to Date.now() when the span starts, so times of different spans
 * agree to about a millisecond (in one process or two): comparisons across spans allow that.
 */
const SLACK = 1_000_000n;

/** `child` is a direct child of `parent` and lies within it in time. */
function expectNested(child: ReceivedSpan, parent: ReceivedSpan): void {
  expect(child.traceId).toBe(parent.traceId);
  expect(child.parentSpanId, `${child.name} under ${parent.name}`).toBe(parent.spanId);
  expect(child.startNs).toBeGreaterThanOrEqual(parent.startNs - SLACK);
  expect(child.endNs).toBeLessThanOrEqual(parent.endNs + SLACK);
}

/** The worker's spans of a request served alone: queue wait, the batch and its runtime call under the request span. */
function expectWorkerSpans(spans: readonly ReceivedSpan[], request: ReceivedSpan, service: string): void {
  const batch = byName(spans, 'batch mlp-classifier');
  const queue = byName(spans, 'queue mlp-classifier');
  const runtime = byName(spans, 'infer mlp-classifier');
  for (const span of [batch, queue, runtime]) expect(span.service).toBe(service);
  expectNested(batch, request);
  expectNested(queue, request);
  expectNested(runtime, batch);
  expect(batch.kind).toBe('SPAN_KIND_CONSUMER');
  expect(batch.links).toContainEqual({ traceId: request.traceId, spanId: request.spanId });
  expect(queue.links).toContainEqual({ traceId: batch.traceId, spanId: batch.spanId });
  expect(batch.attributes).toMatchObject({
    'triton.model_name': 'mlp-classifier',
    'triton.model_version': '1',
    'messaging.batch.message_count': 1,
    'switchyard.batch_rows': 1,
  });
  expect(runtime.attributes).toMatchObject({
    'triton.model_name': 'mlp-classifier',
    'switchyard.batch_size': 1,
    'switchyard.execution_provider': 'cpu',
  });
  expect(runtime.attributes['switchyard.compute_ms']).toBeGreaterThan(0);
  expect(queue.attributes['switchyard.queue_ms']).toBeGreaterThanOrEqual(0);
  expect(queue.endNs).toBeLessThanOrEqual(runtime.startNs + SLACK);
}

describe('OpenTelemetry traces over OTLP/HTTP', () => {
  it('embedded: one HTTP request is one trace, continuing the caller: request span, policy steps, queue wait, batch and runtime call', async () => {
    const collector = await receiver();
    const grpcPort = await freePort();
    const gateway = await spawnGateway({ ...MODEL_ENV, SWITCHYARD_CONFIG: policy, GRPC_PORT: String(grpcPort), ...otelEnv(collector) });
    spawned.push(gateway);
    await waitFor(
      async () => (await fetch(`${gateway.url}/v2/models/mlp-classifier/ready`, { headers: auth })).status === 200,
      20_000,
      'model ready',
    );

    const id = traceId(1);
    const reply = await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(1), {
      ...auth,
      traceparent: traceparent(id),
      'idempotency-key': 'otel-embedded-1',
    });
    expect(reply.status).toBe(200);
    const [, answeredTrace, answeredSpan, flags] = reply.headers.get('traceparent')!.split('-');
    expect({ answeredTrace, flags }).toEqual({ answeredTrace: id, flags: '01' });

    await waitFor(
      async () =>
        collector.trace(id).some((span) => span.name === 'POST /v2/models/:model/infer') &&
        collector.trace(id).some((span) => span.name === 'batch mlp-classifier'),
      10_000,
      'spans exported',
    );
    const spans = collector.trace(id);
    const request = byName(spans, 'POST /v2/models/:model/infer');
    // The request span is the one the response names, a child of the caller's span.
    expect(request).toMatchObject({
      service: 'switchyard-gateway',
      kind: 'SPAN_KIND_SERVER',
      spanId: answeredSpan,
      parentSpanId: CALLER_SPAN,
    });
    expect(request.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v2/models/:model/infer',
      'url.path': '/v2/models/mlp-classifier/infer',
      'http.response.status_code': 200,
      'switchyard.tenant': 'traced',
      'switchyard.request_id': reply.headers.get('x-request-id'),
      'triton.model_name': 'mlp-classifier',
      'triton.model_version': '1',
    });
    expect(request.attributes['switchyard.queue_ms']).toBeCloseTo(Number(reply.headers.get('x-queue-ms')), 2);
    for (const step of ['auth', 'rate limit', 'routing', 'concurrency', 'plan', 'idempotency', 'model call'])
      expectNested(byName(spans, step), request);
    expectNested(byName(spans, 'budget'), byName(spans, 'model call'));
    expectWorkerSpans(spans, request, 'switchyard-gateway');
    expect(spans.every((span) => span.status.code !== 'STATUS_CODE_ERROR')).toBe(true);
    // Readiness probes (polled above, and by every kubelet) make no traces.
    expect(collector.spans.filter((span) => String(span.attributes['url.path']).startsWith('/v2/health'))).toEqual([]);
    // The OTEL_EXPORTER_OTLP_HEADERS reached the collector, with protobuf bodies.
    expect(collector.requests[0]).toMatchObject({ contentType: 'application/x-protobuf', headers: { 'x-collector-token': 't0ken' } });

    // gRPC: the same pipeline, an rpc.* server span.
    const client = new InferenceClient(`127.0.0.1:${grpcPort}`);
    const grpcId = traceId(2);
    const answer = await client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(2)), {
      ...auth,
      traceparent: traceparent(grpcId),
    });
    client.close();
    expect(answer.error).toBeUndefined();
    await waitFor(
      async () =>
        collector.trace(grpcId).some((span) => span.name === 'inference.GRPCInferenceService/ModelInfer') &&
        collector.trace(grpcId).some((span) => span.name === 'batch mlp-classifier'),
      10_000,
      'gRPC spans exported',
    );
    const grpcSpans = collector.trace(grpcId);
    const rpc = byName(grpcSpans, 'inference.GRPCInferenceService/ModelInfer');
    expect(rpc).toMatchObject({ kind: 'SPAN_KIND_SERVER', parentSpanId: CALLER_SPAN, spanId: answer.headers.traceparent!.split('-')[2] });
    expect(rpc.attributes).toMatchObject({
      'rpc.system': 'grpc',
      'rpc.service': 'inference.GRPCInferenceService',
      'rpc.method': 'ModelInfer',
      'rpc.grpc.status_code': 0,
      'switchyard.tenant': 'traced',
    });
    for (const step of ['auth', 'rate limit', 'routing', 'plan', 'model call']) expectNested(byName(grpcSpans, step), rpc);
    expectWorkerSpans(grpcSpans, rpc, 'switchyard-gateway');

    // A refused request: the failing step and the request span say why (4xx: the step is the error, not the server).
    const refusedId = traceId(3);
    const refused = await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(3), {
      authorization: 'Bearer wrong',
      traceparent: traceparent(refusedId),
    });
    expect(refused.status).toBe(401);
    await waitFor(async () => collector.trace(refusedId).length >= 2, 10_000, 'refused request spans');
    const refusedAuth = byName(collector.trace(refusedId), 'auth');
    expect(refusedAuth.status.code).toBe('STATUS_CODE_ERROR');
    expect(byName(collector.trace(refusedId), 'POST /v2/models/:model/infer').attributes).toMatchObject({
      'http.response.status_code': 401,
      'switchyard.error_code': 'unauthorized',
    });
  }, 90_000);

  it('tasks: the task run and each pipeline step are spans of the creating request, and the model step batch nests under its step', async () => {
    const collector = await receiver();
    const { repository, env } = taskFixture();
    try {
      const gateway = await spawnGateway({ ...env, MODEL_REPOSITORY: repository.dir, CPU_COUNT: '1', ...otelEnv(collector) });
      spawned.push(gateway);
      const alpha = { authorization: `Bearer ${TASK_KEYS.alpha}` };
      await waitFor(async () => (await fetch(`${gateway.url}/v2/health/ready`)).status === 200, 20_000, 'gateway ready');
      const id = traceId(30);
      const reply = await post(`${gateway.url}/v1/tasks/echo-json`, echoInput([1, 2, 3, 4]), { ...alpha, traceparent: traceparent(id) });
      expect(reply.status).toBe(200);
      await waitFor(
        async () =>
          collector.trace(id).some((span) => span.name === 'POST /v1/tasks/:pipeline') &&
          collector.trace(id).some((span) => span.name === 'batch echo'),
        10_000,
        'task spans',
      );
      const spans = collector.trace(id);
      const request = byName(spans, 'POST /v1/tasks/:pipeline');
      const task = byName(spans, 'task echo-json');
      expectNested(task, request);
      expect(task.attributes).toMatchObject({ 'switchyard.pipeline': 'echo-json', 'switchyard.tenant': 'alpha', 'switchyard.task_run': 1 });
      const transform = byName(spans, 'step to-tensor');
      const modelStep = byName(spans, 'step echo');
      expectNested(transform, task);
      expectNested(modelStep, task);
      expect(modelStep.attributes).toMatchObject({ 'switchyard.step': 'echo', 'switchyard.step_kind': 'model' });
      expect(modelStep.startNs).toBeGreaterThanOrEqual(transform.endNs - SLACK);
      expectNested(byName(spans, 'batch echo'), modelStep);
      expectNested(byName(spans, 'infer echo'), byName(spans, 'batch echo'));
    } finally {
      repository.remove();
    }
  }, 60_000);

  it('OTEL_TRACES_SAMPLER traceidratio with 0 exports nothing, and answers say the trace is not sampled', async () => {
    const collector = await receiver();
    const gateway = await spawnGateway({
      ...MODEL_ENV,
      ...otelEnv(collector, { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }),
    });
    spawned.push(gateway);
    await waitFor(async () => (await fetch(`${gateway.url}/v2/models/mlp-classifier/ready`)).status === 200, 20_000, 'model ready');
    for (let i = 0; i < 5; i += 1) {
      const reply = await post(
        `${gateway.url}/v2/models/mlp-classifier/infer`,
        mlpBody(10 + i),
        i % 2 === 0 ? { traceparent: traceparent(traceId(10 + i)) } : {},
      );
      expect(reply.status).toBe(200);
      expect(reply.headers.get('traceparent')).toMatch(/-00$/);
    }
    // Several export periods (50 ms each) pass: nothing was recorded, so nothing is sent.
    await new Promise((done) => setTimeout(done, 600));
    expect(collector.spans).toEqual([]);
  }, 60_000);

  it('a collector that is down fails no request: spans are dropped and the failure is logged', async () => {
    const closedPort = await freePort();
    const gateway = await spawnGateway({ ...MODEL_ENV, ...otelEnv({ endpoint: `http://127.0.0.1:${closedPort}` }) });
    spawned.push(gateway);
    await waitFor(async () => (await fetch(`${gateway.url}/v2/models/mlp-classifier/ready`)).status === 200, 20_000, 'model ready');
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(i))),
    );
    expect(replies.map((reply) => reply.status)).toEqual(Array(20).fill(200));
    await waitFor(async () => gateway.output().includes('span export failed'), 10_000, 'export failure logged');
    const after = await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(99));
    expect(after.status).toBe(200);
  }, 60_000);

  it('distributed: the trace context travels in the job, so the worker process joins the request trace', async () => {
    const collector = await receiver();
    const env = { ...REDIS_ENV, REDIS_PREFIX: prefix, ...MODEL_ENV, HEARTBEAT_MS: '300', ...otelEnv(collector) };
    const worker = await spawnWorker({ ...env, WORKER_ID: 'otel-traced', METRICS_PORT: '0' });
    spawned.push(worker);
    const gateway = await spawnGateway({ ...env, SWITCHYARD_CONFIG: policy });
    spawned.push(gateway);
    await waitFor(
      async () => (await fetch(`${gateway.url}/v2/models/mlp-classifier/ready`, { headers: auth })).status === 200,
      20_000,
      'model ready',
    );

    const id = traceId(20);
    const reply = await post(`${gateway.url}/v2/models/mlp-classifier/infer`, mlpBody(20), { ...auth, traceparent: traceparent(id) });
    expect(reply.status).toBe(200);
    await waitFor(
      async () =>
        collector.trace(id).some((span) => span.name === 'POST /v2/models/:model/infer') &&
        collector.trace(id).some((span) => span.name === 'batch mlp-classifier'),
      10_000,
      'spans from both processes',
    );
    const spans = collector.trace(id);
    const request = byName(spans, 'POST /v2/models/:model/infer');
    expect(request).toMatchObject({
      service: 'switchyard-gateway',
      parentSpanId: CALLER_SPAN,
      spanId: reply.headers.get('traceparent')!.split('-')[2],
    });
    for (const step of ['auth', 'rate limit', 'routing', 'plan', 'model call']) expectNested(byName(spans, step), request);
    expectWorkerSpans(spans, request, 'switchyard-worker');
    // The wait in Redis, from the gateway's enqueue to the worker taking the job, then the batcher's queue.
    const received = byName(spans, 'receive infer.mlp-classifier.1');
    expectNested(received, request);
    expect(received).toMatchObject({ service: 'switchyard-worker', kind: 'SPAN_KIND_CONSUMER' });
    expect(received.attributes).toMatchObject({
      'messaging.system': 'redis',
      'messaging.destination.name': 'infer.mlp-classifier.1',
      'switchyard.attempt': 1,
    });
    expect(received.endNs).toBeLessThanOrEqual(byName(spans, 'queue mlp-classifier').startNs + SLACK);
    expect(new Set(spans.map((span) => span.service))).toEqual(new Set(['switchyard-gateway', 'switchyard-worker']));
  }, 90_000);
});
