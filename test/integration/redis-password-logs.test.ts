import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchGateway, launchWorker, type Spawned } from '../helpers/processes.js';
import { RedisProcess, baseArgs, serverFolder } from '../helpers/redis-process.js';
import { freePort } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

/**
 * A redis-server of its own with a password, reached with a wrong one: the gateway and the
 * worker log the WRONGPASS replies, and never the password they sent (ioredis puts the failed
 * `HELLO 3 AUTH <user> <password>` on its errors).
 */
const RIGHT = 'right-secret-XYZ';
const WRONG_URL = 'wrong-url-pass-ABC';
const WRONG_FILE = 'wrong-file-pass-DEF';
const folder = serverFolder('password');
const repository = new TestRepository();
let port: number;
let server: RedisProcess;
const children: Spawned[] = [];

/** PING after AUTH with the right password. */
function answersAuthenticatedPing(target: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = new Socket();
    let reply = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('error', () => finish(false));
    socket.on('data', (data) => {
      reply += data.toString();
      if (reply.includes('+PONG')) finish(true);
      else if (reply.includes('-')) finish(false);
    });
    socket.connect(target, '127.0.0.1', () => socket.write(`AUTH ${RIGHT}\r\nPING\r\n`));
  });
}

beforeAll(async () => {
  port = await freePort();
  server = new RedisProcess(port, [...baseArgs(port), '--requirepass', RIGHT], folder.dir, () => answersAuthenticatedPing(port));
  await server.start();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await server?.kill();
  folder.remove();
  repository.remove();
});

/** Waits until the process has logged `count` WRONGPASS lines or exited; its output. */
async function wrongPassLines(child: Spawned, count: number): Promise<string[]> {
  const lines = (): string[] =>
    child
      .output()
      .split('\n')
      .filter((line) => line.includes('WRONGPASS'));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && lines().length < count && child.process.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  child.kill();
  return lines();
}

describe('a wrong Redis password', () => {
  it('is not in the gateway log', async () => {
    const gateway = launchGateway({ REDIS_URL: `redis://:${WRONG_URL}@127.0.0.1:${port}`, MODEL_REPOSITORY: repository.dir });
    children.push(gateway);
    const lines = await wrongPassLines(gateway, 1);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).toContain('[redacted]');
    expect(gateway.output()).not.toContain(WRONG_URL);
  });

  it('is not in the worker log, from the URL or from REDIS_USERNAME and REDIS_PASSWORD_FILE', async () => {
    const passwordFile = join(folder.dir, 'password');
    writeFileSync(passwordFile, `${WRONG_FILE}\n`);
    const common = { MODEL_REPOSITORY: repository.dir, METRICS_PORT: '0', HEARTBEAT_MS: '200' };
    for (const [env, secret] of [
      [{ REDIS_URL: `redis://:${WRONG_URL}@127.0.0.1:${port}` }, WRONG_URL],
      [{ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_USERNAME: 'default', REDIS_PASSWORD_FILE: passwordFile }, WRONG_FILE],
    ] as const) {
      const worker = launchWorker({ ...common, ...env });
      children.push(worker);
      const lines = await wrongPassLines(worker, 3);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.join('\n')).toContain('[redacted]');
      expect(worker.output()).not.toContain(secret);
    }
  });
});
