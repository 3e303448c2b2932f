import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import { spawnGateway, waitFor, type Spawned } from '../helpers/processes.js';
import { rawRequest } from '../helpers/raw-http.js';
import { TestRepository } from '../helpers/repository.js';

// The attacks that once killed the process, against `node dist/gateway/server.js` itself.
const CUT_MULTIPART = Buffer.from('--XB\r\nContent-Disposition: form-data; name="x"; filename="a"\r\n\r\nabc');
const KEY = 'process-user-key';
const repository = new TestRepository().copy('mlp-classifier');
const policy = join(repository.dir, 'policy.yaml');
writeFileSync(policy, stringify({ tenants: [{ name: 'user', keys: [{ sha256: hashKey(KEY) }], models: ['mlp-classifier'] }] }));

/** The most a loopback connection's two socket buffers may hold (tcp_rmem and tcp_wmem's maxima). */
function socketBufferBytes(): number {
  const most = (name: string, fallback: number): number => {
    try {
      return Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8').trim().split(/\s+/)[2]) || fallback;
    } catch {
      return fallback;
    }
  };
  return most('tcp_rmem', 6 * 1024 * 1024) + most('tcp_wmem', 4 * 1024 * 1024);
}

const gateways: Record<string, Spawned & { url: string }> = {};
beforeAll(async () => {
  const env = { MODEL_REPOSITORY: repository.dir, CPU_COUNT: '1', LOG_LEVEL: 'warn', MAX_BODY_BYTES: String(4 * 1024 * 1024) };
  [gateways.open, gateways.tenants] = await Promise.all([spawnGateway(env), spawnGateway({ ...env, SWITCHYARD_CONFIG: policy })]);
  // Served models, so an inference with a key meets the body and not a model still warming up.
  for (const gateway of Object.values(gateways))
    await waitFor(async () => (await fetch(`${gateway.url}/v2/health/ready`)).ok, 60_000, 'gateway ready');
}, 120_000);
afterAll(async () => {
  for (const gateway of Object.values(gateways)) gateway.kill();
  repository.remove();
});

const PATHS = [
  '/v2/health/live',
  '/v2/health/ready',
  '/console',
  '/nowhere',
  '/v2/models/mlp-classifier/infer',
  '/v2/repository/models/mlp-classifier/load',
];

describe.each(['open', 'tenants'])('a spawned gateway (%s) survives every attack', (mode) => {
  async function expectHealthy(after: string): Promise<void> {
    const gateway = gateways[mode]!;
    expect({ after, exitCode: gateway.process.exitCode }).toEqual({ after, exitCode: null });
    const live = await fetch(`${gateway.url}/v2/health/live`).then(
      (reply) => reply.json(),
      (error: Error) => error.message,
    );
    expect({ after, live }).toEqual({ after, live: { live: true } });
    expect(gateway.output()).not.toMatch(/Unhandled|uncaught/i);
  }

  it.each(PATHS)('the 67-byte cut-off multipart body to POST %s, with and without a key', async (path) => {
    const gateway = gateways[mode]!;
    const { host } = new URL(gateway.url);
    for (const auth of [[], [`Authorization: Bearer ${KEY}`]]) {
      const head = [
        `POST ${path} HTTP/1.1`,
        `Host: ${host}`,
        'Content-Type: multipart/form-data; boundary=XB',
        `Content-Length: ${CUT_MULTIPART.length}`,
        ...auth,
      ].join('\n');
      const reply = await rawRequest(gateway.url, head, CUT_MULTIPART);
      // A 4xx for a body that is read; a route that takes none (load, in open mode) just answers.
      expect(reply.status).toBeLessThan(500);
      if (reply.status >= 400) expect(typeof reply.json.code).toBe('string');
      // Let a late stream error surface before checking the process.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await expectHealthy(`${path} ${auth.length ? 'with' : 'without'} a key`);
    }
  });

  it('an 80 MiB multipart upload to an unknown path, and one cut off mid-file to an inference', async () => {
    const gateway = gateways[mode]!;
    const { host } = new URL(gateway.url);
    const size = 80 * 1024 * 1024;
    const big = await rawRequest(
      gateway.url,
      [`POST /nowhere HTTP/1.1`, `Host: ${host}`, 'Content-Type: multipart/form-data; boundary=XB', `Content-Length: ${size}`].join('\n'),
      size,
    );
    expect(big.json.code).toBe('route_not_found');
    // Refused long before the 80 MiB: what was sent is at most what the kernel buffers on both
    // ends of the connection (their most, which autotuning may reach) and what the gateway reads.
    expect(big.bytesSent).toBeLessThan(socketBufferBytes() + 4 * 1024 * 1024 + 1024 * 1024);
    await expectHealthy('80 MiB to /nowhere');
    // The body stops short of its Content-Length and the client goes away.
    const head = [
      `POST /v2/models/mlp-classifier/infer HTTP/1.1`,
      `Host: ${host}`,
      'Content-Type: multipart/form-data; boundary=XB',
      'Content-Length: 5000',
      `Authorization: Bearer ${KEY}`,
    ].join('\n');
    await rawRequest(gateway.url, head, CUT_MULTIPART, 300).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expectHealthy('a body cut off by a client that left');
  });
});
