import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, startTestGateway } from '../helpers/gateway.js';
import { InferenceClient, mlpRequest } from '../helpers/grpc-client.js';
import { mlpVector } from '../helpers/mlp-reference.js';
import { bearer } from '../helpers/policy-fixture.js';
import { freePort } from '../helpers/redis.js';
import { REVIEW_KEYS, reviewFixture } from '../helpers/review-fixture.js';

/** Human review is a stage of the shared pipeline: a gRPC answer is filed the way an HTTP one is. */
const fixture = reviewFixture();
let server: RunningServer;
let client: InferenceClient;

beforeAll(async () => {
  server = await startTestGateway(fixture.repository.dir, { ...fixture.env, GRPC_PORT: String(await freePort()) });
  client = new InferenceClient(server.grpcAddress!);
});
afterAll(async () => {
  client.close();
  await server.close();
  fixture.repository.remove();
});

type Answer = { parameters: Record<string, { string_param?: string }> };

describe('review over gRPC', () => {
  it('x-review: true files the answer for review, named in parameters and initial metadata', async () => {
    const request = mlpRequest('reviewed', mlpVector(1));
    const reply = await client.call<Answer>('ModelInfer', request, { ...bearer(REVIEW_KEYS.acme), 'x-review': 'true' });
    expect(reply.error).toBeUndefined();
    const id = reply.message!.parameters.review_id?.string_param;
    expect(id).toBeTruthy();
    expect(reply.message!.parameters.review_status?.string_param).toBe('pending_review');
    expect(reply.headers).toMatchObject({ 'x-review-id': id, 'x-review-status': 'pending_review' });
    const item = (await get(`${server.url}/v1/reviews/${id}`, bearer(REVIEW_KEYS.ops))).json;
    expect(item).toMatchObject({
      route: 'reviewed',
      tenant: 'acme',
      reason: 'requested',
      state: 'pending',
      request_id: reply.headers['x-request-id'],
    });
    expect(item.input_ref).toMatchObject({ content_type: 'application/grpc+proto' });
    expect((item.input_ref as { body_base64: string }).body_base64.length).toBeGreaterThan(0);
  });

  it("x-review on a route without review is INVALID_ARGUMENT, as HTTP's 400", async () => {
    const reply = await client.call('ModelInfer', mlpRequest('plain', mlpVector(1)), { ...bearer(REVIEW_KEYS.acme), 'x-review': 'true' });
    expect(reply.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(reply.headers['x-error-code']).toBe('invalid_parameter');
  });
});
