import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policySchema } from '../../gateway/policy/policy-config.js';
import { deliverCallback } from '../../gateway/tasks/callback-delivery.js';
import { CallbackGuard, type Resolve } from '../../gateway/tasks/callback-guard.js';
import type { CallbackAttempt } from '../../gateway/tasks/task-record.js';

/**
 * Deliveries against a real HTTP receiver on loopback. Names under .test never resolve in
 * real DNS, so a delivery to one that arrives proves the connection used the address the
 * guard checked (from its table), not a lookup of its own.
 */
let receiver: Server;
let port: number;
const received: { host: string | undefined; path: string | undefined }[] = [];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received.push({ host: request.headers.host, path: request.url });
      // /moved answers a redirect to a path that would count as a second delivery if followed.
      if (request.url === '/moved') response.writeHead(307, { location: '/hook' }).end();
      else response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = (receiver.address() as { port: number }).port;
});
afterAll(() => {
  receiver.close();
});

function sequenceResolver(answers: Record<string, string[][]>): Resolve {
  const calls = new Map<string, number>();
  return async (hostname) => {
    const sequence = answers[hostname];
    if (!sequence) throw new Error(`getaddrinfo ENOTFOUND ${hostname}`);
    const call = calls.get(hostname) ?? 0;
    calls.set(hostname, call + 1);
    return sequence[Math.min(call, sequence.length - 1)]!.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

async function deliver(guard: CallbackGuard, url: string, attempts = 1): Promise<{ delivered: boolean; records: CallbackAttempt[] }> {
  const records: CallbackAttempt[] = [];
  const policy = { attempts, backoffMs: 1, timeoutMs: 2000, guard };
  const outcome = await deliverCallback({ url, tenant: 'alpha' }, '{"id":"t"}', 'secret', policy, async (attempt) => {
    records.push(attempt);
  });
  return { delivered: outcome === 'delivered', records };
}

describe('callback delivery', () => {
  it('refuses a loopback receiver by default and delivers to it when the policy allows', async () => {
    received.length = 0;
    const closed = new CallbackGuard(policySchema.parse({}), 2000);
    for (const host of ['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]', '2130706433']) {
      const url = `http://${host}:${port}/hook`;
      const { delivered, records } = await deliver(closed, url);
      expect(delivered).toBe(false);
      expect(records.map(({ attempt, status, error }) => ({ attempt, status, error }))).toEqual([
        { attempt: 1, status: undefined, error: 'delivery failed' },
      ]);
    }
    expect(received).toEqual([]);

    const open = new CallbackGuard(policySchema.parse({ callbacks: { allow_private: true } }), 2000);
    expect((await deliver(open, `http://localhost:${port}/hook?x=1`)).delivered).toBe(true);
    expect(received).toEqual([{ host: `localhost:${port}`, path: '/hook?x=1' }]);
  });

  it('connects to the address it checked, with the URL host in the Host header', async () => {
    received.length = 0;
    const policy = policySchema.parse({ callbacks: { allow: ['pinned.test'] } });
    const guard = new CallbackGuard(policy, 2000, sequenceResolver({ 'pinned.test': [['127.0.0.1']] }));
    const { delivered, records } = await deliver(guard, `http://pinned.test:${port}/hook`);
    expect(delivered).toBe(true);
    expect(records[0]!.status).toBe(204);
    expect(received).toEqual([{ host: `pinned.test:${port}`, path: '/hook' }]);
    // Several vetted addresses are tried in turn: the receiver listens on 127.0.0.1 only, not ::1.
    const both = new CallbackGuard(policy, 2000, sequenceResolver({ 'pinned.test': [['::1', '127.0.0.1']] }));
    expect((await deliver(both, `http://pinned.test:${port}/again`)).delivered).toBe(true);
    expect(received.map((request) => request.path)).toEqual(['/hook', '/again']);
  });

  it('checks again at every attempt: a name that rebinds to loopback after submission is not delivered', async () => {
    received.length = 0;
    // Public when the task is submitted, loopback when the delivery resolves it again.
    const guard = new CallbackGuard(policySchema.parse({}), 2000, sequenceResolver({ 'rebind.test': [['93.184.216.34'], ['127.0.0.1']] }));
    await expect(guard.vet('alpha', `http://rebind.test:${port}/hook`)).resolves.toMatchObject({ address: '93.184.216.34' });
    const { delivered, records } = await deliver(guard, `http://rebind.test:${port}/hook`, 2);
    expect(delivered).toBe(false);
    expect(records.map((record) => record.error)).toEqual(['delivery failed', 'delivery failed']);
    expect(received).toEqual([]);
  });

  it('a closed port and a refused address leave the same record', async () => {
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const closedPort = (free.address() as { port: number }).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    const allowed = new CallbackGuard(policySchema.parse({ callbacks: { allow_private: true } }), 2000);
    const refused = new CallbackGuard(policySchema.parse({}), 2000);
    const strip = ({ attempt, status, error }: CallbackAttempt): unknown => ({ attempt, status, error });
    const portClosed = (await deliver(allowed, `http://127.0.0.1:${closedPort}/hook`)).records.map(strip);
    const addressRefused = (await deliver(refused, `http://127.0.0.1:${port}/hook`)).records.map(strip);
    expect(portClosed).toEqual([{ attempt: 1, status: undefined, error: 'delivery failed' }]);
    expect(addressRefused).toEqual(portClosed);
  });

  it('does not follow redirects', async () => {
    received.length = 0;
    const guard = new CallbackGuard(policySchema.parse({ callbacks: { allow: ['127.0.0.1'] } }), 2000);
    const { delivered, records } = await deliver(guard, `http://127.0.0.1:${port}/moved`);
    expect(delivered).toBe(false);
    expect(records[0]!.status).toBe(307);
    expect(received.map((request) => request.path)).toEqual(['/moved']);
  });
});
