import { Agent, request as httpRequest } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSignal } from '../../gateway/http/close-signal.js';

/** A real server and a keep-alive client: the requests of one connection, one after another. */
let app: FastifyInstance;
let base: string;
const signals: AbortSignal[] = [];
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  app = Fastify();
  app.get<{ Querystring: { leave?: string } }>('/', async (request, reply) => {
    const signal = closeSignal(reply);
    signals.push(signal);
    const listener = (): void => undefined;
    signal.addEventListener('abort', listener);
    if (request.query.leave === undefined) signal.removeEventListener('abort', listener);
    return 'ok';
  });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  agent.destroy();
  await app.close();
});

function get(path: string): Promise<{ reused: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ reused: req.reusedSocket, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('closeSignal on a keep-alive connection', () => {
  it('answered requests that removed their listeners share one signal; one left with a listener is retired', async () => {
    signals.length = 0;
    expect((await get('/')).body).toBe('ok');
    expect((await get('/')).reused).toBe(true);
    expect(signals[1]).toBe(signals[0]);
    await get('/?leave');
    expect(signals[2]).toBe(signals[0]);
    expect((await get('/')).reused).toBe(true);
    // The listener left by the previous request stays on a signal no later request gets.
    expect(signals[3]).not.toBe(signals[2]);
    for (const signal of signals) expect(signal.aborted).toBe(false);
  });

  it('closing a connection whose requests were all answered aborts nothing', async () => {
    signals.length = 0;
    await get('/?leave');
    agent.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(signals[0]!.aborted).toBe(false);
  });
});
