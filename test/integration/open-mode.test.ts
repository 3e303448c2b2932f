import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, startTestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw-http.js';
import { TestRepository } from '../helpers/repository.js';

// No tenants: loopback only, every caller the local admin; browsers and rebound names are kept out.
const repository = new TestRepository().copy('mlp-classifier');
let server: RunningServer;
let port: string;

beforeAll(async () => {
  server = await startTestGateway(repository.dir);
  port = new URL(server.url).port;
});
afterAll(async () => {
  await server.close();
  repository.remove();
});

const send = (method: string, path: string, headers: string[]) =>
  rawRequest(server.url, [`${method} ${path} HTTP/1.1`, ...headers, 'Content-Length: 0'].join('\n'));

describe('open mode answers only its own loopback origin', () => {
  it.each([['localhost'], ['127.0.0.1'], ['127.8.9.10'], ['[::1]'], ['LOCALHOST']])(
    "Host %s, with the listener's port or none: served",
    async (name) => {
      for (const host of [`${name}:${port}`, name]) {
        const reply = await send('GET', '/v2/models/mlp-classifier/ready', [`Host: ${host}`]);
        expect({ host, status: reply.status }).toEqual({ host, status: 200 });
      }
    },
  );

  it.each([
    ['evil.example.com'],
    ['evil.example.com:PORT'],
    ['localhost.evil.example.com'],
    ['10.0.0.1'],
    ['localhost:1'],
    ['127.0.0.1:99999'],
    [''],
  ])('Host "%s": 403 foreign_origin', async (host) => {
    const reply = await send('GET', '/v2/models/mlp-classifier/ready', [`Host: ${host.replace('PORT', port)}`]);
    expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 403, code: 'foreign_origin' });
    expect(typeof reply.json.error).toBe('string');
  });

  it('a request with no Host at all: refused', async () => {
    const reply = await rawRequest(server.url, 'GET /v2/models/mlp-classifier/ready HTTP/1.0');
    expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 403, code: 'foreign_origin' });
  });

  it('a foreign page cannot unload a model (Origin of another site): 403, and the model stays ready', async () => {
    for (const origin of [
      'http://evil.example.com',
      'null',
      `http://evil.example.com:${port}`,
      `https://localhost:1`,
      'http://localhost:1',
      `ftp://localhost:${port}`,
      // No port: the scheme's default (80, 443), another local server's pages.
      'http://localhost',
      'https://localhost',
      'http://127.0.0.1',
      'http://[::1]',
    ]) {
      const reply = await send('POST', '/v2/repository/models/mlp-classifier/unload', [
        `Host: 127.0.0.1:${port}`,
        `Origin: ${origin}`,
        'Content-Type: text/plain',
      ]);
      expect({ origin, status: reply.status, code: reply.json.code }).toEqual({ origin, status: 403, code: 'foreign_origin' });
    }
    expect((await get(`${server.url}/v2/models/mlp-classifier/ready`)).json).toMatchObject({ ready: true });
  });

  it("the same loopback origin is served (the console's own requests)", async () => {
    const reply = await send('GET', '/v1/console/overview', [`Host: localhost:${port}`, `Origin: http://localhost:${port}`]);
    expect(reply.status).toBe(200);
  });
});
