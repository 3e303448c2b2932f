import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import type { RunningServer } from '../../gateway/server.js';
import { get, startTestGateway } from '../helpers/gateway.js';
import { rawRequest, type RawReply } from '../helpers/raw-http.js';
import { TestRepository } from '../helpers/repository.js';

const MAX_BODY = 4 * 1024 * 1024;
const ADMIN = 'hostile-admin-key';
const USER = 'hostile-user-key';
/** The 67-byte multipart body whose file part never ends (no closing boundary). */
const CUT_MULTIPART = '--XB\r\nContent-Disposition: form-data; name="x"; filename="a"\r\n\r\nabc';

const repository = new TestRepository().copy('mlp-classifier');
let server: RunningServer;

function policyFile(tenants: unknown[]): string {
  const file = join(repository.dir, `policy-${tenants.length}.yaml`);
  writeFileSync(file, stringify({ tenants }));
  return file;
}

const TENANTS = [
  { name: 'ops', role: 'admin', keys: [{ sha256: hashKey(ADMIN) }] },
  { name: 'user', keys: [{ sha256: hashKey(USER) }], models: ['mlp-classifier'] },
];

beforeAll(async () => {
  server = await startTestGateway(repository.dir, { MAX_BODY_BYTES: String(MAX_BODY), SWITCHYARD_CONFIG: policyFile(TENANTS) });
});
afterAll(async () => {
  await server.close();
  repository.remove();
});

const hostOf = (url: string): string => new URL(url).host;
const head = (url: string, method: string, path: string, headers: string[] = []): string =>
  [`${method} ${path} HTTP/1.1`, `Host: ${hostOf(url)}`, ...headers].join('\n');
const multipartHead = (url: string, path: string, length: number, extra: string[] = []): string =>
  head(url, 'POST', path, ['Content-Type: multipart/form-data; boundary=XB', `Content-Length: ${length}`, ...extra]);

function expectError(reply: RawReply | { status: number; json: Record<string, unknown> }, status: number, code: string): void {
  expect({ status: reply.status, code: reply.json.code, error: typeof reply.json.error }).toEqual({ status, code, error: 'string' });
  expect(Object.keys(reply.json).sort()).toEqual(['code', 'error']);
}

async function expectAlive(): Promise<void> {
  expect((await get(`${server.url}/v2/health/live`)).json).toEqual({ live: true });
}

describe('a cut-off multipart body answers 4xx and the gateway lives on', () => {
  it.each([
    ['/v2/health/live', 404, 'route_not_found'],
    ['/v2/health/ready', 404, 'route_not_found'],
    ['/v2/health/anything', 404, 'route_not_found'],
    ['/console', 404, 'route_not_found'],
    ['/nowhere', 404, 'route_not_found'],
    ['/v2/models/mlp-classifier/infer', 401, 'unauthorized'],
  ])('POST %s with no key', async (path, status, code) => {
    const reply = await rawRequest(server.url, multipartHead(server.url, path, CUT_MULTIPART.length), Buffer.from(CUT_MULTIPART));
    expectError(reply, status, code);
    await expectAlive();
  });

  it('to an inference with a key: 400 invalid_request', async () => {
    const reply = await rawRequest(
      server.url,
      multipartHead(server.url, '/v2/models/mlp-classifier/infer', CUT_MULTIPART.length, [`Authorization: Bearer ${USER}`]),
      Buffer.from(CUT_MULTIPART),
    );
    expectError(reply, 400, 'invalid_request');
    await expectAlive();
  });

  it('to a route that takes no body, with a key: the body is not parsed, and a form is refused', async () => {
    // A browser sends forms cross-site without asking first: refused by type, never read.
    const reply = await rawRequest(
      server.url,
      multipartHead(server.url, '/v2/admin/dead-letters/1/requeue', CUT_MULTIPART.length, [`Authorization: Bearer ${ADMIN}`]),
      Buffer.from(CUT_MULTIPART),
    );
    expectError(reply, 415, 'unsupported_media_type');
    await expectAlive();
  });
});

describe('authentication comes before the body, matched by method and route', () => {
  it.each([
    ['GET', '/v2/health/live'],
    ['GET', '/v2/health/ready'],
    ['HEAD', '/v2/health/live'],
    ['GET', '/console'],
    ['GET', '/v2/health/live?probe=1'],
  ])('%s %s needs no key', async (method, path) => {
    const reply = await fetch(`${server.url}${path}`, { method });
    expect(reply.status).toBe(200);
  });

  it.each([
    ['GET', '/v2'],
    ['GET', '/v2/models/mlp-classifier'],
    ['GET', '/v1/console/overview'],
    ['POST', '/v2/repository/index'],
    ['GET', '/metrics'],
  ])('%s %s without a key is 401', async (method, path) => {
    const reply = await fetch(`${server.url}${path}`, { method });
    expectError({ status: reply.status, json: (await reply.json()) as Record<string, unknown> }, 401, 'unauthorized');
  });

  it.each([['/console/extra'], ['/consolex'], ['/v2/health'], ['/v2/health/']])('GET %s is 404, not an auth-free path', async (path) => {
    expectError(await get(`${server.url}${path}`), 404, 'route_not_found');
  });

  it.each([
    ['an unauthenticated inference', '/v2/models/mlp-classifier/infer', 'application/json', 401, 'unauthorized'],
    ['an unknown path', '/nowhere', 'application/json', 404, 'route_not_found'],
    ['an unauthenticated multipart upload', '/v2/models/mlp-classifier/infer', 'multipart/form-data; boundary=XB', 401, 'unauthorized'],
  ])('%s of 80 MiB is refused unread', async (_name, path, type, status, code) => {
    const size = 80 * 1024 * 1024;
    const reply = await rawRequest(server.url, head(server.url, 'POST', path, [`Content-Type: ${type}`, `Content-Length: ${size}`]), size);
    expectError(reply, status, code);
    // What sits in socket buffers at most, not the upload.
    expect(reply.bytesSent).toBeLessThan(16 * 1024 * 1024);
    await expectAlive();
  });

  it('a chunked upload with no key is refused unread too', async () => {
    const size = 80 * 1024 * 1024;
    // Chunk framing is not needed: the server answers before it reads the first chunk.
    const reply = await rawRequest(
      server.url,
      head(server.url, 'POST', '/v2/models/mlp-classifier/infer', ['Content-Type: application/json', 'Transfer-Encoding: chunked']),
      size,
    );
    expectError(reply, 401, 'unauthorized');
    expect(reply.bytesSent).toBeLessThan(16 * 1024 * 1024);
  });
});

describe('MAX_BODY_BYTES caps the whole body, whatever its type', () => {
  const file = (name: string, bytes: number): Buffer =>
    Buffer.concat([
      Buffer.from(`--XB\r\nContent-Disposition: form-data; name="${name}"; filename="${name}.png"\r\nContent-Type: image/png\r\n\r\n`),
      Buffer.alloc(bytes, 1),
      Buffer.from('\r\n'),
    ]);
  // Three files, each under the limit, together over it.
  const form = Buffer.concat([
    file('a', 1.5 * 1024 * 1024),
    file('b', 1.5 * 1024 * 1024),
    file('c', 1.5 * 1024 * 1024),
    Buffer.from('--XB--\r\n'),
  ]);

  it('a multipart form whose files together exceed it: 413', async () => {
    const reply = await rawRequest(
      server.url,
      multipartHead(server.url, '/v2/models/mlp-classifier/infer', form.length, [`Authorization: Bearer ${USER}`]),
      form,
    );
    expectError(reply, 413, 'body_too_large');
    await expectAlive();
  });

  it('the same form sent chunked (no Content-Length): 413 while it streams', async () => {
    const chunked = Buffer.concat([Buffer.from(`${form.length.toString(16)}\r\n`), form, Buffer.from('\r\n0\r\n\r\n')]);
    const reply = await rawRequest(
      server.url,
      head(server.url, 'POST', '/v2/models/mlp-classifier/infer', [
        'Content-Type: multipart/form-data; boundary=XB',
        'Transfer-Encoding: chunked',
        `Authorization: Bearer ${USER}`,
      ]),
      chunked,
    );
    expectError(reply, 413, 'body_too_large');
    await expectAlive();
  });

  it.each([
    ['with a Content-Length', false],
    ['chunked', true],
  ])('a multipart form of exactly MAX_BODY_BYTES is read, one byte more is 413 (%s)', async (_name, chunked) => {
    const codes: string[] = [];
    for (const size of [MAX_BODY, MAX_BODY + 1]) {
      const start = Buffer.from(
        '--XB\r\nContent-Disposition: form-data; name="input"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n',
      );
      const end = Buffer.from('\r\n--XB--\r\n');
      const form = Buffer.concat([start, Buffer.alloc(size - start.length - end.length, 1), end]);
      expect(form.length).toBe(size);
      const framing = chunked ? ['Transfer-Encoding: chunked'] : [`Content-Length: ${size}`];
      const body = chunked ? Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), form, Buffer.from('\r\n0\r\n\r\n')]) : form;
      const reply = await rawRequest(
        server.url,
        head(server.url, 'POST', '/v2/models/mlp-classifier/infer', [
          'Content-Type: multipart/form-data; boundary=XB',
          ...framing,
          `Authorization: Bearer ${USER}`,
        ]),
        body,
      );
      codes.push(String(reply.json.code));
    }
    // Read whole, then refused for what it holds (this model takes no image input), not for its size.
    expect(codes).toEqual(['unknown_input', 'body_too_large']);
  });

  it('a JSON body over it: 413', async () => {
    const reply = await rawRequest(
      server.url,
      head(server.url, 'POST', '/v2/models/mlp-classifier/infer', [
        'Content-Type: application/json',
        `Content-Length: ${MAX_BODY + 1}`,
        `Authorization: Bearer ${USER}`,
      ]),
      MAX_BODY + 1,
    );
    expectError(reply, 413, 'body_too_large');
  });
});

describe('framework-level client errors answer {error, code} from the table and echo nothing', () => {
  const long = 'z'.repeat(10_000);
  it.each([
    ['a malformed percent-encoding', `/v2/models/%E0%A4%A${long.slice(0, 50)}/ready`, [], 400, 'invalid_url'],
    ['a path parameter over 100 characters', `/v2/models/${long.slice(0, 500)}/ready`, [], 414, 'url_too_long'],
    ['a 20 KB URL', `/v2/models/${long}${long}/ready`, [], 431, 'headers_too_large'],
    ['a 20 KB header', '/v2/health/live', [`X-Big: ${long}${long}`], 431, 'headers_too_large'],
    ['a non-numeric Content-Length', '/v2/models/mlp-classifier/infer', ['Content-Length: 12zz'], 400, 'malformed_request'],
    [
      'two different Content-Lengths',
      '/v2/models/mlp-classifier/infer',
      ['Content-Length: 1', 'Content-Length: 2'],
      400,
      'malformed_request',
    ],
    [
      'a malformed Content-Type',
      '/v2/models/mlp-classifier/infer',
      ['Content-Type: a/b/c;;', 'Content-Length: 2'],
      415,
      'unsupported_media_type',
    ],
    [
      'an unsupported Content-Type',
      '/v2/models/mlp-classifier/infer',
      ['Content-Type: application/x-zzzz', 'Content-Length: 2'],
      415,
      'unsupported_media_type',
    ],
  ])('%s', async (_name, path, headers, status, code) => {
    const reply = await rawRequest(
      server.url,
      head(server.url, 'POST', path, [`Authorization: Bearer ${USER}`, ...headers]),
      Buffer.from('{}'),
    );
    expectError(reply, status, code);
    // The unsupported-type message names the type the caller sent (short by then: headers are capped).
    if (!headers.some((header) => header.includes('x-zzzz'))) expect(String(reply.json.error)).not.toMatch(/zzzz|12zz|a\/b\/c/);
    await expectAlive();
  });
});

describe("Node's own refusals answer {error, code} too", () => {
  it('an HTTP/1.1 request without Host: 400 malformed_request', async () => {
    const reply = await rawRequest(server.url, ['GET /v2/health/live HTTP/1.1', 'Connection: close'].join('\n'));
    expectError(reply, 400, 'malformed_request');
    await expectAlive();
  });

  it('an Expect other than 100-continue: 417 expectation_failed, the body never read', async () => {
    const reply = await rawRequest(
      server.url,
      head(server.url, 'POST', '/v2/models/mlp-classifier/infer', [`Authorization: Bearer ${USER}`, 'Expect: foo', 'Content-Length: 2']),
      Buffer.from('{}'),
    );
    expectError(reply, 417, 'expectation_failed');
    await expectAlive();
  });

  it('CONNECT (this is no proxy): 404 route_not_found, not a dropped socket', async () => {
    const reply = await rawRequest(server.url, ['CONNECT 127.0.0.1:22 HTTP/1.1', `Host: ${hostOf(server.url)}`].join('\n'));
    expectError(reply, 404, 'route_not_found');
    await expectAlive();
  });
});

describe('failed authentication is limited per client address', () => {
  let limited: RunningServer;
  beforeAll(async () => {
    limited = await startTestGateway(repository.dir, { SWITCHYARD_CONFIG: policyFile(TENANTS), AUTH_FAILURE_LIMIT: '3' });
  });
  afterAll(() => limited.close());

  it('after 3 wrong keys: 429 rate_limited with Retry-After, even for a right key; a missing key is no guess', async () => {
    const url = `${limited.url}/v2/models/mlp-classifier`;
    for (let i = 0; i < 5; i += 1) expectError(await get(url), 401, 'unauthorized');
    for (let i = 0; i < 3; i += 1) expectError(await get(url, { authorization: `Bearer guess-${i}` }), 401, 'unauthorized');
    const refused = await get(url, { authorization: 'Bearer guess-3' });
    expectError(refused, 429, 'rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expectError(await get(url, { authorization: `Bearer ${USER}` }), 429, 'rate_limited');
    // Health stays reachable for probes.
    expect((await get(`${limited.url}/v2/health/live`)).status).toBe(200);
  });
});

describe('Authorization sent twice', () => {
  it('is 401 unauthorized whichever comes first: never the first key, as Node would keep it', async () => {
    for (const keys of [
      [USER, ADMIN],
      [USER, USER],
      ['guess', USER],
    ]) {
      const reply = await rawRequest(
        server.url,
        head(
          server.url,
          'GET',
          '/v2/models/mlp-classifier',
          keys.map((key) => `Authorization: Bearer ${key}`),
        ),
      );
      expectError(reply, 401, 'unauthorized');
      expect(reply.json.error).toBe('send one Authorization header, not several');
    }
    // In any case, and the one header alone is fine.
    const mixed = head(server.url, 'GET', '/v2/models/mlp-classifier', [`authorization: Bearer ${USER}`, `AUTHORIZATION: Bearer ${USER}`]);
    expectError(await rawRequest(server.url, mixed), 401, 'unauthorized');
    expect(
      (await rawRequest(server.url, head(server.url, 'GET', '/v2/models/mlp-classifier', [`Authorization: Bearer ${USER}`]))).status,
    ).toBe(200);
  });
});

describe('behind a proxy (TRUST_PROXY): failed keys count against the forwarded client address', () => {
  let proxied: RunningServer;
  let limitedElsewhere: RunningServer;
  beforeAll(async () => {
    proxied = await startTestGateway(repository.dir, {
      SWITCHYARD_CONFIG: policyFile(TENANTS),
      AUTH_FAILURE_LIMIT: '3',
      TRUST_PROXY: '127.0.0.1',
    });
    limitedElsewhere = await startTestGateway(repository.dir, { SWITCHYARD_CONFIG: policyFile(TENANTS), AUTH_FAILURE_LIMIT: '3' });
  });
  afterAll(async () => {
    await proxied.close();
    await limitedElsewhere.close();
  });

  it('one client behind the trusted proxy is limited; another behind the same proxy is not', async () => {
    const url = `${proxied.url}/v2/models/mlp-classifier`;
    const from = (client: string, key: string) => get(url, { authorization: `Bearer ${key}`, 'x-forwarded-for': client });
    for (let i = 0; i < 3; i += 1) expectError(await from('203.0.113.5', `guess-${i}`), 401, 'unauthorized');
    expectError(await from('203.0.113.5', USER), 429, 'rate_limited');
    expect((await from('203.0.113.6', USER)).status).toBe(200);
  });

  it('without TRUST_PROXY a forged X-Forwarded-For does not spread the guesses over addresses', async () => {
    const url = `${limitedElsewhere.url}/v2/models/mlp-classifier`;
    for (let i = 0; i < 3; i += 1)
      expectError(await get(url, { authorization: `Bearer guess-${i}`, 'x-forwarded-for': `198.51.100.${i}` }), 401, 'unauthorized');
    expectError(await get(url, { authorization: `Bearer ${USER}`, 'x-forwarded-for': '198.51.100.99' }), 429, 'rate_limited');
  });
});

describe('hostile inference bodies are 400s', () => {
  const infer = (body: string) =>
    fetch(`${server.url}/v2/models/mlp-classifier/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${USER}` },
      body,
    }).then(async (reply) => ({ status: reply.status, json: (await reply.json()) as Record<string, unknown> }));
  const row = new Array(512).fill(0.5).join(',');
  const request = (data: string, parameters = '{}') =>
    `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,512],"data":${data}}],"parameters":${parameters}}`;

  it.each([[10_000], [100_000], [1_000_000]])(
    'data nested %i levels deep: 400 invalid_request, and the gateway lives on',
    async (depth) => {
      expectError(await infer(request(`${'['.repeat(depth)}1${']'.repeat(depth)}`)), 400, 'invalid_request');
      await expectAlive();
    },
  );

  it('binary_data_output that is not a boolean, or one output asked for twice: 400, not silently one way', async () => {
    expectError(await infer(request(`[${row}]`, '{"binary_data_output":"yes"}')), 400, 'invalid_parameter');
    const twice = `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,512],"data":[${row}]}],"outputs":[{"name":"probabilities","parameters":{"classification":3}},{"name":"probabilities","parameters":{"binary_data":true}}]}`;
    expectError(await infer(twice), 400, 'invalid_request');
    expect((await infer(request(`[${row}]`, '{"binary_data_output":false}'))).status).toBe(200);
  });

  it('an element nested deep inside an object: 400 datatype_mismatch, its message short', async () => {
    const reply = await infer(request(`[${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}${',0'.repeat(511)}]`));
    expectError(reply, 400, 'datatype_mismatch');
    expect(String(reply.json.error).length).toBeLessThan(200);
  });

  it('data nested as the shape says is served', async () => {
    expect((await infer(request(`[[${row}]]`))).status).toBe(200);
  });

  it.each([['1e999'], ['-1e999']])('%s in FP32 data (parsed as an infinity): 400 datatype_mismatch', async (value) => {
    const reply = await infer(request(`[${value}${',0'.repeat(511)}]`));
    expectError(reply, 400, 'datatype_mismatch');
    expect(reply.json.error).toMatch(/element 0 \(-?Infinity\) is not a finite number/);
  });

  it.each([['1e308'], ['1e999'], ['2147483648'], ['0'], ['1.5'], ['"100"']])('timeout_ms %s: 400 invalid_parameter', async (value) => {
    expectError(await infer(request(`[${row}]`, `{"timeout_ms":${value}}`)), 400, 'invalid_parameter');
  });

  it("timeout_ms at the timer's limit (2^31 - 1) is served", async () => {
    expect((await infer(request(`[${row}]`, '{"timeout_ms":2147483647}'))).status).toBe(200);
  });

  it('a body nested too deep for any parser: 400 invalid_json or invalid_request, never 500', async () => {
    const reply = await infer(`{"inputs":${'['.repeat(1_500_000)}${']'.repeat(1_500_000)}}`);
    expect(reply.status).toBe(400);
    expect(['invalid_json', 'invalid_request']).toContain(reply.json.code);
  });
});

describe('a caller-chosen X-Request-Id never becomes the request id', () => {
  it("is kept as client_request_id (answer header, parameters, audit record) beside the gateway's own id", async () => {
    const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512], data: new Array(512).fill(0.1) }] });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${USER}`, 'x-request-id': 'victim-request-1' };
    const first = await fetch(`${server.url}/v2/models/mlp-classifier/infer`, { method: 'POST', headers, body });
    const second = await fetch(`${server.url}/v2/models/mlp-classifier/infer`, { method: 'POST', headers, body });
    const ids = [first, second].map((reply) => reply.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[0]).not.toBe(ids[1]);
    expect(first.headers.get('x-client-request-id')).toBe('victim-request-1');
    expect(((await first.json()) as { parameters: Record<string, unknown> }).parameters).toMatchObject({
      request_id: ids[0],
      client_request_id: 'victim-request-1',
    });
    // Errors carry both too; an unusable caller id is dropped.
    const refused = await fetch(`${server.url}/v2/models/mlp-classifier/infer`, {
      method: 'POST',
      headers: { 'x-request-id': 'bad id with spaces' },
      body,
    });
    expect(refused.headers.get('x-client-request-id')).toBeNull();
    expect(refused.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const audit = await get(`${server.url}/v1/admin/audit?limit=50&tenant=user`, { authorization: `Bearer ${ADMIN}` });
    const entries = (audit.json.entries as { requestId: string; clientRequestId?: string }[]).filter(
      (entry) => entry.clientRequestId === 'victim-request-1',
    );
    expect(entries.map((entry) => entry.requestId).sort()).toEqual([...ids].sort());
  });
});
