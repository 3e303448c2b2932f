import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFailoverStack } from '../helpers/failover-load.js';
import { get, post } from '../helpers/gateway.js';
import type { InProcessCluster } from '../helpers/in-process-cluster.js';
import { waitFor } from '../helpers/processes.js';
import { testPrefix } from '../helpers/redis.js';
import { RedisProcess, baseArgs, serverFolder } from '../helpers/redis-process.js';
import { TASK_KEYS, bearerKey, echoInput, taskFixture } from '../helpers/task-fixture.js';

/**
 * A Redis that stops answering with its sockets open (SIGSTOP: a paused VM, a host stuck in swap,
 * a network path that drops packets without resetting; port 7190). Nothing fails on the client's
 * side, so only the wait can tell: calls in flight wait and are answered once Redis is back
 * (a command they sent may still take effect, so failing them early would leave that unknown),
 * while calls that arrive once the gateways have noticed get a quick 503 instead of waiting out
 * their deadlines, and the gateways say they are not ready until Redis answers again.
 */
const folder = serverFolder('stall');
const server = new RedisProcess(7190, baseArgs(7190), folder.dir);
const prefix = testPrefix();
let fixture: ReturnType<typeof taskFixture>;
let stack: InProcessCluster;

const infer = (gateway: number, n: number) =>
  post(
    `${stack.gateways[gateway]!.url}/v2/models/echo/infer`,
    { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [n, n, n, n] }], parameters: { timeout_ms: 20_000 } },
    bearerKey(TASK_KEYS.outsider),
  );

describe('Redis that stops answering', () => {
  beforeAll(async () => {
    fixture = taskFixture();
    await server.start();
    stack = await startFailoverStack(fixture, { REDIS_URL: 'redis://127.0.0.1:7190' }, prefix, { LOG_LEVEL: 'silent' });
  }, 60_000);
  afterAll(async () => {
    server.signal('SIGCONT');
    await stack?.close();
    await server.kill();
    folder.remove();
    fixture?.repository.remove();
  });

  it('in flight: answered once Redis is back; arriving meanwhile: 503 at once; readiness follows', async () => {
    for (const gateway of [0, 1]) expect((await infer(gateway, gateway)).status).toBe(200);

    server.signal('SIGSTOP');
    const stalledAt = Date.now();
    // Sent before the gateways can tell: these wait (their deadline is 20 s) and are not lost.
    const inFlight = [0, 1].map((gateway) => infer(gateway, 100 + gateway));
    try {
      // The registry's poll goes unanswered: each gateway says it is not ready...
      for (const gateway of stack.gateways) {
        await waitFor(async () => (await get(`${gateway.url}/v2/health/ready`)).status === 503, 10_000, 'the gateway reports not ready');
      }
      expect(Date.now() - stalledAt).toBeLessThan(8_000);
      // ...and refuses new calls at once, before any stage waits on Redis (an Idempotency-Key, a rate limit).
      for (const [gateway, headers] of [
        [0, {}],
        [1, { 'idempotency-key': 'during-the-stall' }],
        // A tenant with a rate limit: its window is not counted meanwhile (the limit fails open, as it does when Redis errs).
        [0, bearerKey(TASK_KEYS.limited)],
      ] as const) {
        const sentAt = Date.now();
        const refused = await post(
          `${stack.gateways[gateway]!.url}/v2/models/echo/infer`,
          { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }], parameters: { timeout_ms: 20_000 } },
          { ...bearerKey(TASK_KEYS.outsider), ...headers },
        );
        expect(refused.status).toBe(503);
        expect(refused.json).toMatchObject({ code: 'backend_unavailable' });
        expect(Date.now() - sentAt).toBeLessThan(1_000);
      }
      // A task is refused the same way.
      const sentAt = Date.now();
      const task = await post(`${stack.gateways[1]!.url}/v1/tasks/echo-json`, echoInput([1, 2, 3, 4]), {
        ...bearerKey(TASK_KEYS.alpha),
        prefer: 'respond-async',
      });
      expect(task.status).toBe(503);
      expect(task.json).toMatchObject({ code: 'backend_unavailable' });
      expect(Date.now() - sentAt).toBeLessThan(1_000);
    } finally {
      server.signal('SIGCONT');
    }

    const answered = await Promise.all(inFlight);
    for (const [gateway, answer] of answered.entries()) {
      expect(answer.status).toBe(200);
      expect((answer.json.outputs as { data: number[] }[])[0]!.data).toEqual(Array(4).fill(100 + gateway));
    }
    for (const gateway of [0, 1]) {
      await waitFor(async () => (await infer(gateway, 20 + gateway)).status === 200, 15_000, `gateway ${gateway} serves again`);
      expect((await get(`${stack.gateways[gateway]!.url}/v2/health/ready`)).status).toBe(200);
    }
    // The key refused during the stall was never claimed: it runs now.
    const keyed = await post(
      `${stack.gateways[0]!.url}/v2/models/echo/infer`,
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] },
      { ...bearerKey(TASK_KEYS.outsider), 'idempotency-key': 'during-the-stall' },
    );
    expect(keyed.status).toBe(200);
    expect(keyed.headers.get('idempotent-replayed')).toBeNull();
  }, 90_000);
});
