import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config.js';
import { ConfigError, parseWorkerConfig, redisTarget } from '../../workers/config.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-redis-config-'));
const secret = join(dir, 'password');
const ca = join(dir, 'ca.pem');
writeFileSync(secret, 's3cret\n');
writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const target = (env: Record<string, string>) => redisTarget(parseWorkerConfig({ WORKER_ID: 'w', ...env }));

describe('REDIS_* settings', () => {
  it('single mode: one URL, with credentials and database from the URL', () => {
    expect(target({ REDIS_URL: 'redis://app:pw%40x@cache.internal:6380/2' })).toEqual({
      mode: 'single',
      nodes: [{ host: 'cache.internal', port: 6380 }],
      username: 'app',
      password: 'pw@x',
      db: 2,
    });
  });

  it('rediss:// with a CA file, and REDIS_USERNAME / REDIS_PASSWORD_FILE over the URL', () => {
    expect(
      target({ REDIS_URL: 'rediss://cache:6379', REDIS_TLS_CA_FILE: ca, REDIS_USERNAME: 'gw', REDIS_PASSWORD_FILE: secret }),
    ).toMatchObject({
      mode: 'single',
      tls: { ca: expect.stringContaining('BEGIN CERTIFICATE') },
      username: 'gw',
      password: 's3cret',
    });
  });

  it("sentinel mode: the URLs are the sentinels (default port 26379), their credentials are the sentinels'", () => {
    const env = {
      REDIS_MODE: 'sentinel',
      REDIS_URL: 'redis://:sentpw@s1,redis://s2:26380',
      REDIS_SENTINEL_MASTER: 'mymaster',
      REDIS_PASSWORD_FILE: secret,
    };
    expect(target(env)).toEqual({
      mode: 'sentinel',
      nodes: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      password: 's3cret',
      sentinelPassword: 'sentpw',
      sentinelMaster: 'mymaster',
      db: 0,
    });
  });

  it('cluster mode: comma-separated seeds', () => {
    const nodes = target({ REDIS_MODE: 'cluster', REDIS_URL: 'redis://n1:7000, redis://n2:7001' })?.nodes;
    expect(nodes).toEqual([
      { host: 'n1', port: 7000 },
      { host: 'n2', port: 7001 },
    ]);
  });

  it.each([
    [{ REDIS_MODE: 'sharded', REDIS_URL: 'redis://a:1' }, /REDIS_MODE/],
    [{ REDIS_URL: 'redis://a:1,redis://b:2' }, /single mode takes one URL/],
    [{ REDIS_URL: 'http://a:1' }, /REDIS_URL/],
    [{ REDIS_MODE: 'sentinel', REDIS_URL: 'redis://a:26379' }, /REDIS_SENTINEL_MASTER/],
    [{ REDIS_URL: 'redis://a:1', REDIS_SENTINEL_MASTER: 'm' }, /only for REDIS_MODE=sentinel/],
    [{ REDIS_MODE: 'cluster', REDIS_URL: 'redis://a:1/3' }, /only database 0/],
    [{ REDIS_URL: 'redis://a:1', REDIS_TLS_CA_FILE: ca }, /only for rediss/],
    [{ REDIS_URL: 'redis://a:1,rediss://b:2', REDIS_MODE: 'cluster' }, /mix of redis/],
    [{ REDIS_URL: 'redis://a:1', REDIS_PASSWORD_FILE: join(dir, 'missing') }, /REDIS_PASSWORD_FILE: cannot read .*ENOENT/],
  ])('refuses %j at start-up', (env, message) => {
    expect(() => parseWorkerConfig({ WORKER_ID: 'w', ...env })).toThrow(ConfigError);
    expect(() => parseWorkerConfig({ WORKER_ID: 'w', ...env })).toThrow(message);
    expect(() => parseConfig(env)).toThrow(message);
  });
});
