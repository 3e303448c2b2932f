import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config.js';
import { hashKey, loadPolicy } from '../../gateway/policy/policy-config.js';
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
    [{ surprise: 1 }, ''],
  ])('rejects %j naming the field %s', (config, field) => {
    const path = file('p.json', JSON.stringify(config));
    expect(() => loadPolicy(path, {})).toThrow(`${path}: ${field}`);
  });

  it('names a missing key variable or secret file', () => {
    expect(() => loadPolicy(file('p.json', JSON.stringify({ tenants: [{ name: 'a', keys: [{ env: 'NOPE' }] }] })), {})).toThrow(
      /tenants\[0\]\.keys\[0\]: environment variable NOPE is not set/,
    );
    expect(() =>
      loadPolicy(file('p.json', JSON.stringify({ tenants: [{ name: 'a', keys: [{ file: '/nonexistent/key' }] }] })), {}),
    ).toThrow(/secret file \/nonexistent\/key cannot be read/);
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
