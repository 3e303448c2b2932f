import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { InferenceClient, floatsOf, mlpRequest } from '../helpers/grpc-client.js';
import { MlpReference, mlpBody, mlpVector } from '../helpers/mlp-reference.js';
import { BUDGETED_REQUESTS, KEYS, bearer, policyFixture } from '../helpers/policy-fixture.js';
import { metricValue, parseMetrics } from '../helpers/metrics.js';
import { freePort } from '../helpers/redis.js';

/** The policy fixture behind both front ends of one gateway: the same tenants, limits, budgets and routes. */
const fixture = policyFixture();
let server: RunningServer;
let client: InferenceClient;
let reference: MlpReference;

beforeAll(async () => {
  server = await startTestGateway(fixture.repository.dir, { ...fixture.env, GRPC_PORT: String(await freePort()) });
  client = new InferenceClient(server.grpcAddress!);
  reference = await MlpReference.load();
});
afterAll(async () => {
  client.close();
  await server.close();
  fixture.repository.remove();
});

type InferResponse = {
  model_name: string;
  model_version: string;
  id?: string;
  parameters: Record<string, Record<string, unknown>>;
  outputs: { name: string; datatype: string; shape: string[] }[];
  raw_output_contents: Buffer[];
};

const inferenceCount = async (): Promise<number> => {
  const stats = (await get(`${server.url}/v2/models/mlp-classifier/stats`, bearer(KEYS.admin))).json.model_stats as {
    inference_count: number;
  }[];
  return stats.reduce((sum, entry) => sum + entry.inference_count, 0);
};

describe('ModelInfer', () => {
  it('answers what the model computes, with the serving facts in parameters and initial metadata', async () => {
    const reply = await client.call<InferResponse>(
      'ModelInfer',
      mlpRequest('mlp-classifier', mlpVector(3), { id: 'req-3', model_version: '1' }),
      { ...bearer(KEYS.acme), 'x-request-id': 'grpc-req-1' },
    );
    expect(reply.error).toBeUndefined();
    const message = reply.message!;
    expect(message).toMatchObject({ model_name: 'mlp-classifier', model_version: '1', id: 'req-3' });
    expect(message.outputs).toEqual([{ name: 'probabilities', datatype: 'FP32', shape: ['1', '10'] }]);
    expect(await reference.matches(3, floatsOf(message.raw_output_contents[0]!))).toBe(true);
    // The gateway's own id, never the caller's; the caller's x-request-id is kept as client_request_id.
    const requestId = message.parameters.request_id?.string_param;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(message.parameters.client_request_id).toEqual({ parameter_choice: 'string_param', string_param: 'grpc-req-1' });
    expect(message.parameters.batch_size?.parameter_choice).toBe('int64_param');
    for (const name of ['route', 'tier', 'model_version', 'queue_ms', 'compute_ms', 'server_ms', 'cost_usd'])
      expect(message.parameters[name], name).toBeDefined();
    expect(reply.headers).toMatchObject({ 'x-request-id': requestId, 'x-client-request-id': 'grpc-req-1' });
    expect(reply.headers).toMatchObject({ 'x-model-version': '1', 'x-route': 'mlp-classifier', 'x-tier': 'direct' });
    expect(reply.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it("continues the caller's trace from traceparent metadata", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const reply = await client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(1)), {
      ...bearer(KEYS.acme),
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    expect(reply.headers.traceparent).toContain(traceId);
  });

  it('takes a route name as the model name, and x-tier where the route allows it', async () => {
    const reply = await client.call<InferResponse>('ModelInfer', mlpRequest('picky', mlpVector(1)), {
      ...bearer(KEYS.acme),
      'x-tier': 'b',
    });
    expect(reply.message).toMatchObject({ model_name: 'mlp-classifier', model_version: '2' });
    expect(reply.headers).toMatchObject({ 'x-route': 'picky', 'x-tier': 'b' });
  });
});

describe('authentication and authorization', () => {
  it('UNAUTHENTICATED without a key or with an unknown one; liveness and readiness need none', async () => {
    const none = await client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(1)));
    expect(none.error?.code).toBe(status.UNAUTHENTICATED);
    expect(none.headers['x-error-code']).toBe('unauthorized');
    const unknown = await client.call('ModelMetadata', { name: 'mlp-classifier' }, bearer('nope'));
    expect(unknown.error?.code).toBe(status.UNAUTHENTICATED);
    expect(unknown.error?.details).toBe('unknown API key');
    expect((await client.call('ServerLive', {})).message).toEqual({ live: true });
    expect((await client.call('ServerReady', {})).message).toEqual({ ready: true });
  });

  it('the scheme in any case and any spaces before the key, over gRPC as over HTTP (lean ModelInfer too)', async () => {
    for (const authorization of [`bearer ${KEYS.acme}`, `BEARER   ${KEYS.acme}`]) {
      expect((await client.call('ServerMetadata', {}, { authorization })).error, JSON.stringify(authorization)).toBeUndefined();
      const infer = await client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(1)), { authorization });
      expect(infer.error, JSON.stringify(authorization)).toBeUndefined();
      expect((await get(`${server.url}/v2`, { authorization })).status, JSON.stringify(authorization)).toBe(200);
    }
  });

  it('whitespace around the value: HTTP/1.1 drops it, HTTP/2 drops the whole field (RFC 9113), so gRPC sees no key', async () => {
    for (const authorization of [`Bearer ${KEYS.acme} `, ` Bearer ${KEYS.acme}`]) {
      expect((await get(`${server.url}/v2`, { authorization })).status, JSON.stringify(authorization)).toBe(200);
      const grpc = await client.call('ServerMetadata', {}, { authorization });
      expect(grpc.error?.code, JSON.stringify(authorization)).toBe(status.UNAUTHENTICATED);
      expect(grpc.error?.details).toBe('send Authorization: Bearer <key>');
    }
  });

  it('PERMISSION_DENIED for a model the key may not call, with the same message as HTTP', async () => {
    const grpc = await client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(1)), bearer(KEYS.reader));
    const http = await post(`${server.url}/v2/models/mlp-classifier/infer`, mlpBody(1), bearer(KEYS.reader));
    expect(grpc.error?.code).toBe(status.PERMISSION_DENIED);
    expect(grpc.headers['x-error-code']).toBe('forbidden');
    expect(grpc.error?.details).toBe(http.json.error);
    expect((await client.call('RepositoryIndex', {}, bearer(KEYS.acme))).error?.code).toBe(status.PERMISSION_DENIED);
    expect((await client.call('RepositoryIndex', {}, bearer(KEYS.admin))).error).toBeUndefined();
  });
});

describe('one wrong-key limit per address for both front ends', () => {
  it('wrong keys over gRPC and HTTP count together; then RESOURCE_EXHAUSTED with retry-after, even for a right key', async () => {
    const limited = await startTestGateway(fixture.repository.dir, {
      ...fixture.env,
      GRPC_PORT: String(await freePort()),
      AUTH_FAILURE_LIMIT: '3',
    });
    const limitedClient = new InferenceClient(limited.grpcAddress!);
    try {
      // A missing key guesses nothing and is not counted.
      expect((await limitedClient.call('ServerMetadata', {})).error?.code).toBe(status.UNAUTHENTICATED);
      for (const guess of ['guess-0', 'guess-1']) {
        expect((await limitedClient.call('ServerMetadata', {}, bearer(guess))).error?.code).toBe(status.UNAUTHENTICATED);
      }
      expect((await get(`${limited.url}/v2`, bearer('guess-2'))).status).toBe(401);
      const refused = await limitedClient.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(1)), bearer(KEYS.acme));
      expect(refused.error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(refused.headers['x-error-code']).toBe('rate_limited');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect((await get(`${limited.url}/v2`, bearer(KEYS.acme))).status).toBe(429);
      // Liveness stays reachable for probes.
      expect((await limitedClient.call('ServerLive', {})).message).toEqual({ live: true });
    } finally {
      limitedClient.close();
      await limited.close();
    }
  });
});

describe('behind a proxy (TRUST_PROXY): wrong keys count against the client the proxy names, as over HTTP', () => {
  it("a trusted peer's x-forwarded-for names the client; an untrusted peer's is ignored", async () => {
    // Dual-stack gRPC listener: 127.0.0.1 connects as ::ffff:127.0.0.1 (the trusted proxy), ::1 as itself (a direct client).
    const port = await freePort();
    const proxied = await startTestGateway(fixture.repository.dir, {
      ...fixture.env,
      GRPC_HOST: '::',
      GRPC_PORT: String(port),
      AUTH_FAILURE_LIMIT: '3',
      TRUST_PROXY: '127.0.0.1',
    });
    const proxy = new InferenceClient(`127.0.0.1:${port}`);
    const direct = new InferenceClient(`[::1]:${port}`);
    const viaProxy = (client: string, key: string, method = 'ServerMetadata', request: object = {}) =>
      proxy.call(method, request, { ...bearer(key), 'x-forwarded-for': client });
    const infer = mlpRequest('mlp-classifier', mlpVector(1));
    try {
      for (const guess of ['guess-0', 'guess-1', 'guess-2'])
        expect((await viaProxy('203.0.113.5', guess)).error?.code).toBe(status.UNAUTHENTICATED);
      // That client is refused, on the lean ModelInfer path too; the proxy's other clients are not.
      expect((await viaProxy('203.0.113.5', KEYS.acme)).error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect((await viaProxy('203.0.113.5', KEYS.acme, 'ModelInfer', infer)).error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect((await viaProxy('203.0.113.6', KEYS.acme)).error).toBeUndefined();
      expect((await viaProxy('203.0.113.6', KEYS.acme, 'ModelInfer', infer)).error).toBeUndefined();
      // HTTP reads X-Forwarded-For the same way: one count per client for both front ends.
      expect((await get(`${proxied.url}/v2`, { ...bearer(KEYS.acme), 'x-forwarded-for': '203.0.113.5' })).status).toBe(429);
      // A proxy in front of this one appended its entry: a trusted hop, so the client is still the one before it.
      const chained = await viaProxy('203.0.113.5, 127.0.0.1', KEYS.acme);
      expect(chained.error?.code).toBe(status.RESOURCE_EXHAUSTED);

      // A peer that is no proxy names no one: its guesses count against its own address whatever it claims.
      for (let i = 0; i < 3; i += 1) {
        const guess = await direct.call('ServerMetadata', {}, { ...bearer(`guess-${i}`), 'x-forwarded-for': `198.51.100.${i}` });
        expect(guess.error?.code).toBe(status.UNAUTHENTICATED);
      }
      const claimed = await direct.call('ServerMetadata', {}, { ...bearer(KEYS.acme), 'x-forwarded-for': '198.51.100.99' });
      expect(claimed.error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect((await viaProxy('203.0.113.7', KEYS.acme)).error).toBeUndefined();
    } finally {
      proxy.close();
      direct.close();
      await proxied.close();
    }
  });
});

describe('one rate limit for both front ends', () => {
  it('counts HTTP requests and gRPC calls in one window, then RESOURCE_EXHAUSTED with Retry-After', async () => {
    const first = await client.call('ServerMetadata', {}, bearer(KEYS.limited));
    expect(first.headers).toMatchObject({ 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '2' });
    expect((await get(`${server.url}/v2`, bearer(KEYS.limited))).headers.get('x-ratelimit-remaining')).toBe('1');
    expect(
      (await client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(1)), bearer(KEYS.limited))).headers['x-ratelimit-remaining'],
    ).toBe('0');
    const limited = await client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(1)), bearer(KEYS.limited));
    expect(limited.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(limited.headers['x-error-code']).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await get(`${server.url}/v2`, bearer(KEYS.limited))).status).toBe(429);
  });
});

describe('idempotency-key', () => {
  it("replays a finished call's answer without running it again", async () => {
    const headers = { ...bearer(KEYS.acme), 'idempotency-key': 'grpc-order-1' };
    const first = await client.call<InferResponse>('ModelInfer', mlpRequest('mlp-classifier', mlpVector(5)), headers);
    const count = await inferenceCount();
    const again = await client.call<InferResponse>('ModelInfer', mlpRequest('mlp-classifier', mlpVector(5)), headers);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(again.message!.raw_output_contents[0]!.equals(first.message!.raw_output_contents[0]!)).toBe(true);
    expect(again.headers['x-cost-usd']).toBe(first.headers['x-cost-usd']);
    expect(await inferenceCount()).toBe(count);
  });

  it('FAILED_PRECONDITION for the same key with another request, INVALID_ARGUMENT for a malformed key', async () => {
    const headers = { ...bearer(KEYS.acme), 'idempotency-key': 'grpc-order-2' };
    expect((await client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(1)), headers)).error).toBeUndefined();
    const reused = await client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(2)), headers);
    expect(reused.error?.code).toBe(status.FAILED_PRECONDITION);
    expect(reused.headers['x-error-code']).toBe('idempotency_key_reused');
    const malformed = await client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(1)), {
      ...bearer(KEYS.acme),
      'idempotency-key': 'k'.repeat(256),
    });
    expect(malformed.headers['x-error-code']).toBe('idempotency_key_invalid');
    expect(malformed.error?.code).toBe(status.INVALID_ARGUMENT);
  });

  it('runs the model once for 50 concurrent calls with one key; the others are replays or ALREADY_EXISTS', async () => {
    const before = await inferenceCount();
    const headers = { ...bearer(KEYS.acme), 'idempotency-key': 'grpc-burst' };
    const replies = await Promise.all(
      Array.from({ length: 50 }, () => client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(9)), headers)),
    );
    expect(await inferenceCount()).toBe(before + 1);
    const fresh = replies.filter((reply) => !reply.error && reply.headers['idempotent-replayed'] !== 'true');
    const busy = replies.filter((reply) => reply.error);
    expect(fresh).toHaveLength(1);
    for (const reply of busy) {
      expect(reply.error?.code).toBe(status.ALREADY_EXISTS);
      expect(reply.headers).toMatchObject({ 'x-error-code': 'idempotency_in_progress', 'retry-after': '1' });
    }
  });
});

describe('budgets', () => {
  it('serves over gRPC at most what the budget covers under concurrency, charged to the same ledger', async () => {
    const replies = await Promise.all(
      Array.from({ length: 4 * BUDGETED_REQUESTS }, (_, i) =>
        client.call(
          'ModelInfer',
          {
            model_name: 'mlp-priced',
            inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512], contents: { fp32_contents: mlpVector(i) } }],
          },
          bearer(KEYS.budgeted),
        ),
      ),
    );
    expect(replies.filter((reply) => !reply.error)).toHaveLength(BUDGETED_REQUESTS);
    for (const reply of replies.filter((r) => r.error)) {
      expect(reply.error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(reply.headers['x-error-code']).toBe('budget_exceeded');
    }
    const spend = (await get(`${server.url}/v1/spend`, bearer(KEYS.budgeted))).json;
    expect(spend.total_usd).toBeCloseTo(BUDGETED_REQUESTS * 0.001, 12);
  });
});

describe('audit', () => {
  it('records gRPC calls in the same audit log, refusals included', async () => {
    await client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(1)), { ...bearer(KEYS.acme), 'x-request-id': 'grpc-audited' });
    await client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(1)), { ...bearer(KEYS.reader), 'x-request-id': 'grpc-refused' });
    const entries = (await get(`${server.url}/v1/admin/audit?limit=500`, bearer(KEYS.admin))).json.entries as Record<string, unknown>[];
    const audited = entries.find((entry) => entry.clientRequestId === 'grpc-audited');
    expect(audited).toMatchObject({ tenant: 'acme', route: 'mlp-classifier', model: 'mlp-classifier', status: 200 });
    expect(audited?.requestId).not.toBe('grpc-audited');
    expect(entries.find((entry) => entry.clientRequestId === 'grpc-refused')).toMatchObject({
      tenant: 'reader',
      status: 403,
      code: 'forbidden',
    });
  });
});

describe('metrics', () => {
  it("counts gRPC calls under their RPC path, and their policy refusals with HTTP's", async () => {
    const text = await fetch(`${server.url}/metrics`, { headers: bearer(KEYS.admin) }).then((response) => response.text());
    const samples = parseMetrics(text);
    const infer = { route: '/inference.GRPCInferenceService/ModelInfer', method: 'GRPC' };
    expect(metricValue(samples, 'switchyard_http_request_duration_seconds_count', { ...infer, status: '200' })).toBeGreaterThan(0);
    expect(metricValue(samples, 'switchyard_http_request_duration_seconds_count', { ...infer, status: '403' })).toBeGreaterThan(0);
    // The limited tenant was refused once over gRPC and once over HTTP.
    expect(metricValue(samples, 'switchyard_rate_limited_total', { tenant: 'limited' })).toBe(2);
    expect(metricValue(samples, 'switchyard_budget_rejected_total', { tenant: 'budgeted' })).toBe(3 * BUDGETED_REQUESTS);
    expect(metricValue(samples, 'switchyard_idempotent_replays_total', { tenant: 'acme' })).toBeGreaterThan(0);
  });
});
