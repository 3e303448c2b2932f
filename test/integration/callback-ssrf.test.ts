import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { ALPHA_CALLBACK_SECRET, TASK_KEYS, bearerKey, echoInput, taskFixture } from '../helpers/task-fixture.js';

/**
 * Task callbacks aimed at internal addresses, sent through the gateway as an attacker would:
 * a tenant with the default policy (gamma) is refused at submission, a tenant whose policy
 * allows its loopback receiver (alpha) is delivered, and an open gateway refuses a callback
 * to its own admin endpoint, which would otherwise unload a model.
 */
const fixture = taskFixture();
let tenants: RunningServer;
let open: RunningServer;
let receiver: Server;
let port: number;
const received: string[] = [];

interface TaskJson {
  id: string;
  callback?: { state: string; attempts: { status?: number; error?: string }[] };
}

async function waitForCallback(server: RunningServer, id: string, headers: Record<string, string>): Promise<TaskJson> {
  for (let i = 0; i < 200; i += 1) {
    const task = (await get(`${server.url}/v1/tasks/${id}`, headers)).json as unknown as TaskJson;
    if (task.callback && task.callback.state !== 'pending') return task;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`task ${id} never finished its callback`);
}

beforeAll(async () => {
  receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received.push(request.url ?? '');
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = (receiver.address() as { port: number }).port;
  tenants = await startTestGateway(fixture.repository.dir, { ...fixture.env, CALLBACK_BACKOFF_MS: '20' });
  open = await startTestGateway(fixture.repository.dir, { ...fixture.openEnv, CALLBACK_SECRET: ALPHA_CALLBACK_SECRET });
});
afterAll(async () => {
  await tenants?.close();
  await open?.close();
  receiver.close();
  fixture.repository.remove();
});

describe('task callbacks cannot reach internal addresses', () => {
  it('refuses loopback, metadata and private callbacks at submission, in every spelling', async () => {
    const gamma = { ...bearerKey(TASK_KEYS.gamma), prefer: 'respond-async' };
    const targets = [
      `http://127.0.0.1:${port}/hook`,
      `http://[::1]:${port}/hook`,
      `http://localhost:${port}/hook`,
      'http://localhost:6379/',
      `http://2130706433:${port}/hook`,
      `http://0x7f000001:${port}/hook`,
      `http://0177.0.0.1:${port}/hook`,
      `http://127.1:${port}/hook`,
      `http://0.0.0.0:${port}/hook`,
      `http://[::ffff:127.0.0.1]:${port}/hook`,
      `http://[::]:${port}/hook`,
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'http://[fd00::1]/hook',
      'http://10.0.0.1/hook',
      'http://100.64.0.1/hook',
    ];
    for (const callbackUrl of targets) {
      const reply = await post(`${tenants.url}/v1/tasks/echo-json`, { ...echoInput([1, 2, 3, 4]), callback_url: callbackUrl }, gamma);
      expect({ url: callbackUrl, status: reply.status, code: reply.json.code }).toEqual({
        url: callbackUrl,
        status: 400,
        code: 'invalid_parameter',
      });
      expect(reply.json.error).toMatch(/callback_url must reach a public address/);
    }
    // Nothing reached the receiver, and the gateway is still healthy.
    expect(received).toEqual([]);
    expect((await get(`${tenants.url}/v2/health/ready`)).status).toBe(200);
  });

  it('delivers to the loopback receiver for a tenant whose callback_allow lists it', async () => {
    const alpha = bearerKey(TASK_KEYS.alpha);
    const body = { ...echoInput([1, 2, 3, 4]), callback_url: `http://127.0.0.1:${port}/alpha` };
    const reply = await post(`${tenants.url}/v1/tasks/echo-json`, body, { ...alpha, prefer: 'respond-async' });
    expect(reply.status).toBe(202);
    const task = await waitForCallback(tenants, (reply.json as unknown as TaskJson).id, alpha);
    expect(task.callback).toMatchObject({ state: 'delivered', attempts: [{ status: 204 }] });
    expect(received).toEqual(['/alpha']);
    // Its allowance is that address, not loopback at large.
    const other = await post(
      `${tenants.url}/v1/tasks/echo-json`,
      { ...echoInput([1, 2, 3, 4]), callback_url: `http://127.0.0.2:${port}/alpha` },
      alpha,
    );
    expect({ status: other.status, code: other.json.code }).toMatchObject({ status: 400, code: 'invalid_parameter' });
  });

  it('an open gateway refuses a callback to its own unload endpoint, and the model stays loaded', async () => {
    const own = new URL(open.url);
    for (const host of [own.host, `localhost:${own.port}`, `[::ffff:127.0.0.1]:${own.port}`]) {
      const body = { ...echoInput([1, 2, 3, 4]), callback_url: `http://${host}/v2/repository/models/echo/unload` };
      const reply = await post(`${open.url}/v1/tasks/echo-json`, body, { prefer: 'respond-async' });
      expect({ host, status: reply.status, code: reply.json.code }).toEqual({ host, status: 400, code: 'invalid_parameter' });
    }
    expect((await get(`${open.url}/v2/models/echo/ready`)).status).toBe(200);
    expect((await post(`${open.url}/v1/tasks/echo-json`, echoInput([1, 2, 3, 4]))).json).toMatchObject({ status: 'succeeded' });
  });
});
