import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/processes.js';
import { InferenceClient, floatsOf, mlpRequest } from '../helpers/grpc-client.js';
import { startInProcessCluster, type InProcessCluster } from '../helpers/in-process-cluster.js';
import { MlpReference, mlpBody, mlpVector } from '../helpers/mlp-reference.js';
import { KEYS, bearer, policyFixture } from '../helpers/policy-fixture.js';
import { REDIS_URL, freePort, testPrefix } from '../helpers/redis.js';

/** Distributed mode: two HTTP gateways and a gRPC one share one Redis, one worker serves them all. */
const fixture = policyFixture();
const env = { ...fixture.env, REDIS_URL, REDIS_PREFIX: testPrefix(), HEARTBEAT_MS: '200', LOAD_MODELS: 'mlp-classifier', CPU_COUNT: '1' };
let cluster: InProcessCluster;
let grpcGateway: RunningServer;
let client: InferenceClient;
let reference: MlpReference;

beforeAll(async () => {
  cluster = await startInProcessCluster(fixture.repository.dir, env, 'mlp-classifier', bearer(KEYS.admin));
  grpcGateway = await startTestGateway(fixture.repository.dir, { ...env, GRPC_PORT: String(await freePort()) });
  // It learns of the worker from its next heartbeat.
  const ready = async (): Promise<boolean> =>
    (await get(`${grpcGateway.url}/v2/models/mlp-classifier/ready`, bearer(KEYS.admin))).status === 200;
  await waitFor(ready, 30_000, 'the gRPC gateway sees the worker');
  client = new InferenceClient(grpcGateway.grpcAddress!);
  reference = await MlpReference.load();
}, 120_000);
afterAll(async () => {
  client.close();
  await grpcGateway.close();
  await cluster.close();
  fixture.repository.remove();
});

describe('gRPC in distributed mode', () => {
  it('queues a ModelInfer for the worker and answers what the model computes', async () => {
    const reply = await client.call<{ raw_output_contents: Buffer[] }>(
      'ModelInfer',
      mlpRequest('mlp-classifier', mlpVector(8), { model_version: '1' }),
      bearer(KEYS.acme),
    );
    expect(reply.error).toBeUndefined();
    expect(await reference.matches(8, floatsOf(reply.message!.raw_output_contents[0]!))).toBe(true);
  });

  it('draws on one rate limit with the HTTP gateways (Redis), then RESOURCE_EXHAUSTED', async () => {
    const limited = bearer(KEYS.limited);
    expect((await post(`${cluster.gateways[0]!.url}/v2/models/mlp-classifier/versions/1/infer`, mlpBody(1), limited)).status).toBe(200);
    expect((await post(`${cluster.gateways[1]!.url}/v2/models/mlp-classifier/versions/1/infer`, mlpBody(1), limited)).status).toBe(200);
    const third = await client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(1), { model_version: '1' }), limited);
    expect(third.headers['x-ratelimit-remaining']).toBe('0');
    const fourth = await client.call('ModelInfer', mlpRequest('mlp-classifier', mlpVector(1), { model_version: '1' }), limited);
    expect(fourth.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(fourth.headers['x-error-code']).toBe('rate_limited');
  });

  it('keeps idempotency records in Redis: a keyed call is replayed', async () => {
    const headers = { ...bearer(KEYS.acme), 'idempotency-key': 'grpc-distributed-1' };
    const first = await client.call<{ raw_output_contents: Buffer[] }>(
      'ModelInfer',
      mlpRequest('mlp-classifier', mlpVector(3), { model_version: '1' }),
      headers,
    );
    const again = await client.call<{ raw_output_contents: Buffer[] }>(
      'ModelInfer',
      mlpRequest('mlp-classifier', mlpVector(3), { model_version: '1' }),
      headers,
    );
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.message!.raw_output_contents[0]!.equals(first.message!.raw_output_contents[0]!)).toBe(true);
  });
});
