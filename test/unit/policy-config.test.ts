import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OPEN_TENANT, keyAuthenticator } from '../../gateway/auth/api-keys.js';
import { parseConfig } from '../../gateway/config.js';
import { MAX_POLICY_BYTES, hashKey, loadPolicy } from '../../gateway/policy/policy-config.js';
import { CircuitBreakers } from '../../gateway/routing/circuit-breaker.js';
import { chooseTiers } from '../../gateway/routing/choose-tiers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-policy-'));
  dirs.push(dir);
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const tenant = { name: 'acme', keys: [{ sha256: hashKey('k') }] };

describe('policy config', () => {
  it('reads YAML and JSON, resolving keys from hashes, the environment and secret files', () => {
    const secret = file('secret', 'from-file\n');
    const yaml = file('p.yaml', `tenants:\n  - name: a\n    keys: [{ env: A_KEY }, { file: ${secret} }, { sha256: ${hashKey('h')} }]\n`);
    const policy = loadPolicy(yaml, { A_KEY: 'from-env' });
    expect(policy.tenants[0]!.keyHashes).toEqual([hashKey('from-env'), hashKey('from-file'), hashKey('h')]);
    const json = file('p.json', JSON.stringify({ tenants: [tenant] }));
    expect(loadPolicy(json, {}).tenants[0]!.name).toBe('acme');
    const withBom = file('bom.json', `\uFEFF${JSON.stringify({ tenants: [tenant] })}`);
    expect(loadPolicy(withBom, {}).tenants[0]!.name).toBe('acme');
  });

  it.each([
    [{ tenants: [{ name: 'a', keys: [] }] }, 'tenants[0].keys'],
    [{ tenants: [{ name: 'a', keys: [{ sha256: 'short' }] }] }, 'tenants[0].keys[0]'],
    [{ tenants: [{ ...tenant, role: 'root' }] }, 'tenants[0].role'],
    [{ tenants: [tenant, tenant] }, 'tenants[1].name'],
    [
      { routes: [{ name: 'r', tiers: [{ name: 'a', model: 'm' }], policy: { type: 'weighted', weights: { b: 1 } } }] },
      'routes[0].policy.weights.b',
    ],
    [{ routes: [{ name: 'r', tiers: [{ name: 'a', model: 'm' }], shadow: { tier: 'x', percent: 5 } }] }, 'routes[0].shadow.tier'],
    [
      { routes: [{ name: 'r', tiers: [{ name: 'a', model: 'm' }], policy: { type: 'cascade', output: 'p', threshold: 2 } }] },
      'routes[0].policy.threshold',
    ],
    [
      {
        routes: [
          { name: 'r', tiers: [{ name: 'a', model: 'm' }] },
          { name: 'r', tiers: [{ name: 'a', model: 'm' }] },
        ],
      },
      'routes[1].name: duplicate route "r"',
    ],
    [
      {
        routes: [
          {
            name: 'r',
            tiers: [
              { name: 't', model: 'm', version: '1' },
              { name: 't', model: 'm', version: '2' },
            ],
          },
        ],
      },
      'routes[0].tiers[1].name: duplicate tier "t" in this route',
    ],
    [{ surprise: 1 }, ''],
  ])('rejects %j naming the field %s', (config, field) => {
    const path = file('p.json', JSON.stringify(config));
    expect(() => loadPolicy(path, {})).toThrow(`${path}: ${field}`);
  });

  it('refuses a policy file over 8 MiB before parsing it', () => {
    const path = file('big.yaml', `# ${'x'.repeat(MAX_POLICY_BYTES)}\n`);
    expect(() => loadPolicy(path, {})).toThrow(
      `${path}: ${MAX_POLICY_BYTES + 3} bytes; a policy file is at most ${MAX_POLICY_BYTES} (8 MiB)`,
    );
    expect(loadPolicy(file('small.yaml', `# ${'x'.repeat(1000)}\n`), {}).tenants).toEqual([]);
  });

  it('names a missing key variable or secret file', () => {
    expect(() => loadPolicy(file('p.json', JSON.stringify({ tenants: [{ name: 'a', keys: [{ env: 'NOPE' }] }] })), {})).toThrow(
      /tenants\[0\]\.keys\[0\]: environment variable NOPE is not set/,
    );
    expect(() =>
      loadPolicy(file('p.json', JSON.stringify({ tenants: [{ name: 'a', keys: [{ file: '/nonexistent/key' }] }] })), {}),
    ).toThrow(/secret file \/nonexistent\/key cannot be read/);
  });

  it('refuses a key listed under two tenants, naming both and not the key', () => {
    const yaml = file(
      'p.yaml',
      `tenants:\n  - { name: user-a, keys: [{ env: KEY_A }] }\n  - { name: admin-b, role: admin, keys: [{ env: KEY_OPS }, { sha256: ${hashKey('keyA-123456')} }] }\n`,
    );
    let message = '';
    try {
      loadPolicy(yaml, { KEY_A: 'keyA-123456', KEY_OPS: 'opskey-123456' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      `${yaml}: tenants[1].keys[1]: tenant "admin-b" lists a key that tenant "user-a" also lists (tenants[0].keys[0]); a key belongs to one tenant`,
    );
    expect(message).not.toContain('keyA-123456');
    expect(message).not.toContain(hashKey('keyA-123456'));
    // A policy built in code (not read from a file) meets the same rule where keys are looked up.
    const shared = { ...OPEN_TENANT, keyHashes: [hashKey('k')] };
    expect(() => keyAuthenticator({ ...loadPolicy(undefined, {}), tenants: [shared, { ...shared, name: 'other' }] })).toThrow(
      'tenants "local" and "other" list the same key; a key belongs to one tenant',
    );
    // The same key twice under one tenant is harmless.
    const own = file('p.json', JSON.stringify({ tenants: [{ name: 'a', keys: [{ env: 'K' }, { sha256: hashKey('k') }] }] }));
    expect(loadPolicy(own, { K: 'k' }).tenants[0]!.keyHashes).toHaveLength(2);
  });

  it('refuses to listen beyond loopback with no tenants, and allows it with tenants', () => {
    expect(() => parseConfig({ HOST: '0.0.0.0' })).toThrow(/refusing to listen on 0\.0\.0\.0 with no tenants/);
    expect(parseConfig({ HOST: '127.0.0.1' }).policy.tenants).toEqual([]);
    expect(
      parseConfig({ HOST: '0.0.0.0', SWITCHYARD_CONFIG: file('p.json', JSON.stringify({ tenants: [tenant] })) }).policy.tenants,
    ).toHaveLength(1);
  });
});

describe('tier choice', () => {
  const route = (policy: unknown, extra = {}) =>
    ({
      name: 'r',
      tiers: [
        { name: 'a', model: 'm' },
        { name: 'b', model: 'm' },
        { name: 'c', model: 'm' },
      ],
      policy,
      tier_header: false,
      ...extra,
    }) as never;

  it('orders the pick first and later tiers as fallbacks', () => {
    expect(chooseTiers(route({ type: 'fixed' }), { plan: 'x', random: 0.5 })).toEqual([0, 1, 2]);
    expect(chooseTiers(route({ type: 'weighted', weights: { a: 10, b: 90 } }), { plan: 'x', random: 0.05 })).toEqual([0, 1, 2]);
    expect(chooseTiers(route({ type: 'weighted', weights: { a: 10, b: 90 } }), { plan: 'x', random: 0.5 })).toEqual([1, 2]);
    expect(chooseTiers(route({ type: 'plan', plans: { pro: 'c' }, default: 'b' }), { plan: 'pro', random: 0 })).toEqual([2]);
    expect(chooseTiers(route({ type: 'plan', plans: { pro: 'c' }, default: 'b' }), { plan: 'free', random: 0 })).toEqual([1, 2]);
    expect(chooseTiers(route({ type: 'fixed' }, { tier_header: true }), { plan: 'x', random: 0, requestedTier: 'b' })).toEqual([1, 2]);
    expect(chooseTiers(route({ type: 'fixed' }), { plan: 'x', random: 0, requestedTier: 'b' })).toEqual([0, 1, 2]);
  });

  it("refuses an X-Tier that names no tier of a route that takes it, naming the route's tiers, whatever the policy", () => {
    for (const policy of [
      { type: 'fixed' },
      { type: 'weighted', weights: { a: 1, b: 1 } },
      { type: 'plan', plans: { pro: 'c' }, default: 'b' },
    ]) {
      for (const requestedTier of ['bogus', '', 'A', ' a']) {
        const choose = () => chooseTiers(route(policy, { tier_header: true }), { plan: 'pro', random: 0.9, requestedTier });
        expect(choose).toThrow(
          expect.objectContaining({ code: 'invalid_parameter', message: expect.stringContaining('send one of a, b, c') }),
        );
      }
    }
    // A route without tier_header ignores the header, whatever it says.
    expect(
      chooseTiers(route({ type: 'plan', plans: { pro: 'c' }, default: 'b' }), { plan: 'pro', random: 0, requestedTier: 'bogus' }),
    ).toEqual([2]);
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive failures, half-opens for one probe, closes on its success', () => {
    let now = 0;
    const breakers = new CircuitBreakers(2, 1000, () => now);
    breakers.failure('m:1');
    expect(breakers.allow('m:1')).toBe(true);
    breakers.failure('m:1');
    expect(breakers.allow('m:1')).toBe(false);
    now = 1000;
    expect(breakers.allow('m:1')).toBe(true); // the probe
    expect(breakers.allow('m:1')).toBe(false); // only one
    breakers.failure('m:1');
    expect(breakers.snapshot()).toEqual([{ target: 'm:1', state: 'open', consecutive_failures: 3 }]);
    now = 2000;
    expect(breakers.allow('m:1')).toBe(true);
    breakers.success('m:1');
    expect(breakers.allow('m:1')).toBe(true);
    expect(breakers.snapshot()).toEqual([]);
  });
});

describe('the policy example in docs/policy.md', () => {
  it('is a valid policy file', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../docs/policy.md', import.meta.url), 'utf8');
    const block = readme.slice(readme.indexOf('<!-- policy-example:start -->'), readme.indexOf('<!-- policy-example:end -->'));
    const yaml = block.slice(block.indexOf('```yaml') + 7, block.lastIndexOf('```'));
    const secret = file('claims-key', 'claims-secret');
    const path = file('example.yaml', yaml.replace('/run/secrets/claims-key', secret));
    const policy = loadPolicy(path, {
      OPS_API_KEY: 'ops-secret',
      CLAIMS_CALLBACK_SECRET: 'claims-callback-secret',
      BATCH_API_KEY: 'batch-secret',
    });
    expect(policy.tenants.map((t) => t.name)).toEqual(['ops', 'claims-team', 'nightly-batch']);
    expect(policy.tenants[2]).toMatchObject({ priority: 5, max_priority: 5, max_concurrency: 64, weight: 1 });
    expect(policy.tenants[1]!.callbackSecret).toBe('claims-callback-secret');
    expect(policy.routes.map((r) => r.name)).toEqual(['classify', 'canary', 'by-plan']);
  });
});
