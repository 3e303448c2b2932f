import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { isAuthFree } from '../../gateway/auth/authenticate.js';
import type { RunningServer } from '../../gateway/server.js';
import { get, startTestGateway } from '../helpers/gateway.js';
import { InferenceClient } from '../helpers/grpc-client.js';
import { KEYS, bearer, policyFixture } from '../helpers/policy-fixture.js';
import { freePort } from '../helpers/redis.js';

/** Admin-only endpoints answer a non-admin key 403 before they look at its parameters, query or body. */
const fixture = policyFixture();
let server: RunningServer;

beforeAll(async () => {
  server = await startTestGateway(fixture.repository.dir, { ...fixture.env, GRPC_PORT: String(await freePort()) });
});
afterAll(async () => {
  await server.close();
  fixture.repository.remove();
});

/** How a summary marks an admin-only operation: `(admin)`, `(admin key)`, `(admin, distributed mode)`... at its end. */
const ADMIN_SUMMARY = /\(admin\b[^)]*\)$/;

/** A request as a key sends it: every path parameter, query parameter and body malformed. */
async function send(method: string, path: string, key: string): Promise<{ status: number; code: unknown }> {
  const url = `${server.url}${path.replace(/\{[^}]+\}/g, 'bad%20name')}?limit=0&state=nonsense&tenant[]=x&older_than_s=abc`;
  const body = method === 'POST' ? '{"not json' : undefined;
  const reply = await fetch(url, {
    method,
    headers: { ...bearer(key), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body } : {}),
  });
  const text = await reply.text();
  return { status: reply.status, code: text ? (JSON.parse(text) as { code?: unknown }).code : undefined };
}

describe('admin endpoints check the role first', () => {
  it('the requests the probe sent: 403, not 400', async () => {
    for (const [method, path] of [
      ['GET', '/v1/reviews'],
      ['GET', '/v1/reviews/export'],
      ['GET', '/v1/admin/audit'],
      ['GET', '/v2/admin/dead-letters'],
      ['POST', '/v2/repository/models/{model}/load'],
    ] as const) {
      expect({ path, ...(await send(method, path, KEYS.acme)) }).toEqual({ path, status: 403, code: 'forbidden' });
    }
  });

  it('every operation the OpenAPI document marks admin: 403 forbidden for a non-admin key, whatever it sends', async () => {
    const document = (await get(`${server.url}/openapi.json`)).json as {
      paths: Record<string, Record<string, { summary: string }>>;
    };
    const admin = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([method, operation]) => ADMIN_SUMMARY.test(operation.summary) && !isAuthFree(method.toUpperCase(), path))
        .map(([method]) => [method.toUpperCase(), path] as const),
    );
    expect(admin.length).toBeGreaterThanOrEqual(21);
    const answers = await Promise.all(admin.map(async ([method, path]) => ({ method, path, ...(await send(method, path, KEYS.acme)) })));
    expect(answers.filter((answer) => answer.status !== 403 || answer.code !== 'forbidden')).toEqual([]);
    // The same malformed requests from an admin are judged on what they send.
    expect((await send('GET', '/v1/reviews', KEYS.admin)).status).toBe(400);
    expect((await send('POST', '/v2/repository/models/{model}/load', KEYS.admin)).status).toBe(400);
  });

  it('over gRPC too: PERMISSION_DENIED before a load request or a model name is looked at', async () => {
    const client = new InferenceClient(server.grpcAddress!);
    try {
      const load = await client.call('RepositoryModelLoad', { model_name: 'bad name', parameters: { config: {} } }, bearer(KEYS.acme));
      expect(load.error?.code).toBe(status.PERMISSION_DENIED);
      const stats = await client.call('ModelStatistics', {}, bearer(KEYS.acme));
      expect(stats.error?.code).toBe(status.PERMISSION_DENIED);
      const trace = await client.call('TraceSetting', { settings: { bogus: { value: ['x'] } } }, bearer(KEYS.acme));
      expect(trace.error?.code).toBe(status.PERMISSION_DENIED);
    } finally {
      client.close();
    }
  });
});
