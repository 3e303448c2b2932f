import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import type { RunningServer } from '../../gateway/server.js';
import { post, startTestGateway } from '../helpers/gateway.js';
import { echoModel } from '../helpers/identity-model.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { TestRepository } from '../helpers/repository.js';

/**
 * Seeded random hostile requests (mutated JSON and binary-extension bodies, wrong header
 * lengths, deep nesting, broken multipart, odd paths, methods and headers) against one gateway:
 * every answer is a status the error table has (never a 500), every refusal a JSON error with a
 * code, and the gateway serves correctly afterwards. A failure prints the request that caused it.
 */
const KEY = 'fuzz-key';
const SEED = 20261207;
const REQUESTS = 600;

const repository = new TestRepository().copy('mlp-classifier').add('echo', ...echoModel());
let server: RunningServer;

beforeAll(async () => {
  const policy = join(repository.dir, 'policy.yaml');
  writeFileSync(
    policy,
    stringify({
      tenants: [{ name: 'fuzz', keys: [{ sha256: hashKey(KEY) }] }],
      routes: [
        { name: 'classify', tiers: [{ name: 'only', model: 'mlp-classifier' }], policy: { type: 'weighted', weights: { only: 1 } } },
      ],
    }),
  );
  server = await startTestGateway(repository.dir, {
    SWITCHYARD_CONFIG: policy,
    MAX_BODY_BYTES: String(1024 * 1024),
    AUTH_FAILURE_LIMIT: '100000',
  });
});
afterAll(async () => {
  await server.close();
  repository.remove();
});

/** A small deterministic generator (an LCG), so a failing request can be made again. */
function generator(seed: number) {
  let state = seed;
  const next = (): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  return { next, pick };
}

interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

const WEIRD: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  2 ** 53 + 1,
  '',
  'FP32',
  [],
  [[]],
  {},
  [-1],
  [1e9, 1e9],
  [0],
  [Number.NaN],
  'x'.repeat(5000),
];

function makeRequests(count: number): FuzzRequest[] {
  const { next, pick } = generator(SEED);
  const mutate = (value: unknown, depth = 0): unknown => {
    if (depth > 4 || next() < 0.3) return next() < 0.5 ? pick(WEIRD) : value;
    if (Array.isArray(value)) return value.slice(0, 20).map((item) => (next() < 0.2 ? mutate(item, depth + 1) : item));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        if (next() < 0.1) continue;
        out[next() < 0.05 ? pick(['__proto__', 'constructor', 'data', 'shape', 'parameters', 'outputs']) : key] =
          next() < 0.3 ? mutate(item, depth + 1) : item;
      }
      if (next() < 0.2)
        out[pick(['parameters', 'outputs', 'id', 'binary_data_output', 'classification', 'priority', 'instances', 'inputs', 'b64'])] =
          pick(WEIRD);
      return out;
    }
    return pick(WEIRD);
  };
  const flip = (bytes: Buffer): Buffer => {
    const out = Buffer.from(bytes);
    for (let i = 0; i < 1 + Math.floor(next() * 6); i += 1) out[Math.floor(next() * out.length)] = Math.floor(next() * 256);
    return next() < 0.3 ? out.subarray(0, Math.floor(next() * out.length)) : out;
  };
  const valid = (): Record<string, unknown> =>
    pick([
      mlpBody(Math.floor(next() * 100)),
      {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
        outputs: [{ name: 'out_x', parameters: { classification: 2 } }],
      },
    ]) as Record<string, unknown>;
  // KServe V1 predict bodies: rows, named rows, columns.
  const validV1 = (): Record<string, unknown> =>
    pick([
      { instances: [[1, 2, 3, 4]] },
      { instances: [{ x: [1, 2, 3, 4] }, { x: [5, 6, 7, 8] }] },
      { inputs: { x: [[1, 2, 3, 4]] } },
      { instances: [(mlpBody(Math.floor(next() * 100)) as { inputs: { data: number[] }[] }).inputs[0]!.data] },
    ]) as Record<string, unknown>;
  return Array.from({ length: count }, () => {
    const model = pick(['mlp-classifier', 'echo', 'echo', 'classify', 'mlp-classifier', 'echo', 'nope', '%2e%2e', 'x'.repeat(300)]);
    const version = next() < 0.1 ? `/versions/${pick(['1', '0', '-1', '99999999999999999999', 'x'])}` : '';
    const v1 = next() < 0.15;
    const path = v1
      ? `/v1/models/${model}${version}${pick([':predict', ':predict', ':predict', ':explain', '', ':'])}`
      : next() < 0.05
        ? pick([
            '/v2',
            '/v2/repository/index',
            '/v2/models/echo/config',
            '/v1/tasks/x',
            '/v2/systemsharedmemory/status',
            '/metrics',
            '/v2/models/stats',
          ])
        : `/v2/models/${model}${version}/${pick(['infer', 'infer', 'infer', 'infer', 'infer', 'explain', 'ready'])}`;
    const headers: Record<string, string> =
      next() < 0.85 ? { authorization: `Bearer ${KEY}` } : next() < 0.5 ? { authorization: 'Bearer wrong' } : {};
    let body: Buffer;
    const kind = next();
    if (kind < 0.45) {
      body = Buffer.from(JSON.stringify(mutate(v1 ? validV1() : valid())));
      const type = pick([
        'application/json',
        'application/json',
        '',
        'text/plain',
        'application/json; charset=utf-16',
        'multipart/form-data; boundary=x',
      ]);
      if (type) headers['content-type'] = type;
    } else if (kind < 0.65) {
      body = flip(Buffer.from(JSON.stringify(v1 ? validV1() : valid())));
      headers['content-type'] = 'application/json';
    } else if (kind < 0.85) {
      const data = Buffer.alloc(pick([16, 16, 0, 8, 2048]));
      const size = pick([16, 0, -1, 1e12, 'x', data.length]);
      const header = Buffer.from(
        JSON.stringify({
          inputs: [
            {
              name: 'x',
              datatype: pick(['FP32', 'BYTES', 'FP16', 'INT64', 'X']),
              shape: pick([[1, 4], [4], [-1, 4], [1e6, 4]]),
              parameters: { binary_data_size: size },
            },
          ],
        }),
      );
      headers['inference-header-content-length'] = String(pick([header.length, header.length, 0, -5, header.length + 10, 'abc', 1e15]));
      body = next() < 0.3 ? flip(Buffer.concat([header, data])) : Buffer.concat([header, data]);
    } else if (kind < 0.93) {
      const depth = 10 + Math.floor(next() * 5000);
      body = Buffer.from('['.repeat(depth) + (next() < 0.5 ? ']'.repeat(depth) : ''));
      headers['content-type'] = 'application/json';
    } else {
      body = Buffer.from(
        `--B\r\nContent-Disposition: form-data; name="${pick(['x', 'request', '"'])}"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG${'A'.repeat(Math.floor(next() * 100))}${next() < 0.5 ? '\r\n--B--\r\n' : ''}`,
        'latin1',
      );
      headers['content-type'] = 'multipart/form-data; boundary=B';
    }
    if (next() < 0.1) headers['content-encoding'] = pick(['gzip', 'deflate', 'br', 'x']);
    if (next() < 0.1) headers['idempotency-key'] = pick(['k1', 'a'.repeat(1000)]);
    if (next() < 0.05) headers.traceparent = pick(['garbage', `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`]);
    return { method: next() < 0.92 ? 'POST' : pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']), path, headers, body };
  });
}

function send(url: string, fuzz: FuzzRequest): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        hostname,
        port,
        method: fuzz.method,
        path: fuzz.path,
        headers: { ...fuzz.headers, 'content-length': String(fuzz.body.length) },
        timeout: 20_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('no answer within 20 s')));
    outgoing.on('error', reject);
    outgoing.end(fuzz.body);
  });
}

const show = (fuzz: FuzzRequest): string => JSON.stringify({ ...fuzz, body: fuzz.body.toString('latin1').slice(0, 300) });

describe('seeded hostile requests', () => {
  it(`${REQUESTS} of them: statuses from the error table, JSON errors with codes, no 500, and the gateway serves on`, async () => {
    const requests = makeRequests(REQUESTS);
    const statuses = new Map<number, number>();
    const v1Statuses = new Map<number, number>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < requests.length) {
        const fuzz = requests[next++]!;
        const reply = await send(server.url, fuzz).catch((error: Error) => ({ status: -1, body: error.message }));
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        if (fuzz.path.startsWith('/v1/models/')) v1Statuses.set(reply.status, (v1Statuses.get(reply.status) ?? 0) + 1);
        expect(reply.status === -1 || (reply.status >= 500 && reply.status !== 501 && reply.status !== 503), show(fuzz)).toBe(false);
        if (reply.status >= 400 && fuzz.method !== 'HEAD') {
          const parsed = (() => {
            try {
              return JSON.parse(reply.body) as { error?: unknown; code?: unknown };
            } catch {
              return undefined;
            }
          })();
          expect(
            typeof parsed?.error === 'string' && typeof parsed.code === 'string',
            `${reply.status} ${reply.body.slice(0, 200)} for ${show(fuzz)}`,
          ).toBe(true);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    // The mix reached the model as well as the refusals.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(50);
    // KServe V1 predict calls among them, some answered and some refused.
    expect(
      [v1Statuses.get(200) ?? 0, v1Statuses.get(400) ?? 0].every((count) => count > 0),
      JSON.stringify([...v1Statuses]),
    ).toBe(true);
    const served = await post(
      `${server.url}/v2/models/echo/infer`,
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] },
      { authorization: `Bearer ${KEY}` },
    );
    expect(served.json.outputs).toEqual([{ name: 'out_x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }]);
  }, 120_000);
});
