import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisIdempotencyStore } from '../../gateway/idempotency/idempotency-store.js';
import { TestCertificates } from '../helpers/certificates.js';
import { post } from '../helpers/gateway.js';
import { startInProcessCluster, type InProcessCluster } from '../helpers/in-process-cluster.js';
import { mlpBody } from '../helpers/mlp-reference.js';
import { RedisProcess, serverFolder } from '../helpers/redis-process.js';
import { testPrefix, testRedis } from '../helpers/redis.js';
import { TestRepository } from '../helpers/repository.js';

/**
 * A redis-server of its own (port 7165) that speaks only TLS and admits only an ACL user:
 * rediss:// with REDIS_TLS_CA_FILE, REDIS_USERNAME and REDIS_PASSWORD_FILE reach it, and
 * gateways and workers (BullMQ included) serve through it.
 */
const PORT = 7165;
const certs = new TestCertificates('switchyard-redis-ca');
certs.server(1);
const folder = serverFolder('tls');
const passwordFile = join(folder.dir, 'password');
writeFileSync(passwordFile, 'correct horse battery\n');
const env = {
  REDIS_URL: `rediss://localhost:${PORT}`,
  REDIS_TLS_CA_FILE: join(certs.dir, 'ca.crt'),
  REDIS_USERNAME: 'switchyard',
  REDIS_PASSWORD_FILE: passwordFile,
};
const server = new RedisProcess(
  PORT,
  [
    '--port',
    '0',
    '--tls-port',
    String(PORT),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--tls-cert-file',
    join(certs.dir, 'server-1.crt'),
    '--tls-key-file',
    join(certs.dir, 'server-1.key'),
    '--tls-ca-cert-file',
    join(certs.dir, 'ca.crt'),
    '--tls-auth-clients',
    'no',
    '--user',
    'default',
    'off',
    '--user',
    'switchyard',
    'on',
    '>correct horse battery',
    '~*',
    '&*',
    '+@all',
  ],
  folder.dir,
  async () => {
    const probe = testRedis('switchyard-test-probe', env);
    try {
      return (await Promise.race([probe.ping(), new Promise((resolve) => setTimeout(resolve, 500, 'late'))])) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  },
);
let stack: InProcessCluster | undefined;
const repository = new TestRepository().copy('mlp-classifier');

beforeAll(async () => {
  await server.start();
});
afterAll(async () => {
  await stack?.close();
  await server.kill();
  folder.remove();
  certs.remove();
  repository.remove();
});

describe('Redis over TLS with an ACL user', () => {
  it('the stores work through rediss:// with the CA, user and password files; without the CA or with a wrong password nothing connects', async () => {
    const redis = testRedis('switchyard-test-tls', env);
    const store = new RedisIdempotencyStore(redis, testPrefix());
    expect((await store.begin('acme:tls', 'body', 60_000)).kind).toBe('started');
    expect((await store.begin('acme:tls', 'body', 60_000)).kind).toBe('in-progress');
    expect(await redis.acl('WHOAMI')).toBe('switchyard');
    redis.disconnect();

    const wrongPassword = join(folder.dir, 'wrong');
    writeFileSync(wrongPassword, 'nope');
    const attempts: [Record<string, string>, RegExp][] = [
      [{ ...env, REDIS_TLS_CA_FILE: '' }, /certificate/i],
      [{ ...env, REDIS_PASSWORD_FILE: wrongPassword }, /WRONGPASS/],
    ];
    for (const [bad, reason] of attempts) {
      const refused = testRedis('switchyard-test-refused', bad, 'serving');
      const failure = new Promise<Error>((resolve) => refused.on('error', resolve));
      expect((await failure).message).toMatch(reason);
      await expect(refused.ping()).rejects.toThrow();
      refused.disconnect();
    }
  });

  it('a gateway and a worker serve through it', async () => {
    const settings = { ...env, REDIS_PREFIX: testPrefix(), LOAD_MODELS: 'mlp-classifier', CPU_COUNT: '1', HEARTBEAT_MS: '200' };
    stack = await startInProcessCluster(repository.dir, settings, 'mlp-classifier', {});
    const url = (seed: number): string => `${stack!.gateways[seed % 2]!.url}/v2/models/mlp-classifier/infer`;
    const replies = await Promise.all(Array.from({ length: 10 }, (_, seed) => post(url(seed), mlpBody(seed))));
    expect(replies.map((r) => r.status)).toEqual(new Array(10).fill(200));
  });
});
