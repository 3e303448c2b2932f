import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import { buildMlp, DEMO_MLP } from '../../models/build/mlp.js';
import { RESHAPE_CONFIG, buildReshapeModel } from './failing-model.js';
import { echoModel } from './identity-model.js';
import { TestRepository } from './repository.js';

export const KEYS = {
  admin: 'admin-secret',
  acme: 'acme-secret',
  reader: 'reader-secret',
  limited: 'limited-secret',
  budgeted: 'budgeted-secret',
  pro: 'pro-secret',
} as const;

/** Price that makes a budget count requests exactly: 1 mUSD each, no compute share. */
export const PRICED = { usd_per_compute_second: 0, usd_per_request: 0.001 };
export const BUDGETED_REQUESTS = 5;

/**
 * A repository with two versions of the MLP (v2 from another seed: the cheap tier), a
 * per-request-priced copy, a model that fails at run time and one that echoes, plus
 * a policy file exercising every policy feature.
 */
export function policyFixture(): { repository: TestRepository; configFile: string; env: Record<string, string> } {
  const repository = new TestRepository()
    .copy('mlp-classifier', {
      versions: {
        '1': { weights: { source: 'file', path: 'model.onnx' } },
        '2': { weights: { source: 'file', path: 'model.onnx' } },
      },
      version_policy: { all: {} },
      warmup: { enabled: true, batch_sizes: [1] },
    })
    .add(
      'mlp-priced',
      {
        platform: 'onnx',
        versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
        max_batch_size: 64,
        inputs: [{ name: 'input', datatype: 'FP32', shape: [512] }],
        outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [10] }],
        warmup: { enabled: true, batch_sizes: [1] },
        price: PRICED,
      },
      { '1/model.onnx': buildMlp(DEMO_MLP) },
    )
    .add('reshape', { ...RESHAPE_CONFIG, inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }] }, { '1/model.onnx': buildReshapeModel() })
    .add('echo', ...echoModel());
  // The cheap tier: same architecture, another seed, so its answers differ.
  mkdirSync(join(repository.dir, 'mlp-classifier', '2'), { recursive: true });
  writeFileSync(join(repository.dir, 'mlp-classifier', '2', 'model.onnx'), buildMlp({ ...DEMO_MLP, seed: 7 }));

  const policy = {
    tenants: [
      { name: 'ops', role: 'admin', keys: [{ env: 'SY_ADMIN_KEY' }] },
      {
        name: 'acme',
        keys: [{ sha256: hashKey(KEYS.acme) }],
        models: ['mlp-classifier', 'classify', 'canary', 'shadowed', 'picky', 'planned', 'fragile', 'doomed', 'reshape', 'echo'],
      },
      { name: 'reader', keys: [{ sha256: hashKey(KEYS.reader) }], models: ['echo'] },
      { name: 'limited', keys: [{ sha256: hashKey(KEYS.limited) }], rate_limit: { max: 3, window_ms: 60_000 } },
      {
        name: 'budgeted',
        keys: [{ sha256: hashKey(KEYS.budgeted) }],
        models: ['mlp-priced'],
        budget: { usd: BUDGETED_REQUESTS * PRICED.usd_per_request, period: 'day' },
      },
      { name: 'pro', plan: 'pro', keys: [{ sha256: hashKey(KEYS.pro) }] },
    ],
    routes: [
      {
        name: 'classify',
        tiers: [
          { name: 'cheap', model: 'mlp-classifier', version: '2' },
          { name: 'full', model: 'mlp-classifier', version: '1' },
        ],
        policy: { type: 'cascade', output: 'probabilities', threshold: 0.5 },
      },
      {
        name: 'canary',
        tiers: [
          { name: 'stable', model: 'mlp-classifier', version: '1' },
          { name: 'candidate', model: 'mlp-classifier', version: '2' },
        ],
        policy: { type: 'weighted', weights: { stable: 0, candidate: 100 } },
      },
      {
        name: 'shadowed',
        tiers: [
          { name: 'live', model: 'mlp-classifier', version: '1' },
          { name: 'next', model: 'mlp-classifier', version: '2' },
        ],
        shadow: { tier: 'next', percent: 100 },
      },
      {
        name: 'picky',
        tiers: [
          { name: 'a', model: 'mlp-classifier', version: '1' },
          { name: 'b', model: 'mlp-classifier', version: '2' },
        ],
        tier_header: true,
      },
      {
        name: 'planned',
        tiers: [
          { name: 'basic', model: 'mlp-classifier', version: '2' },
          { name: 'premium', model: 'mlp-classifier', version: '1' },
        ],
        policy: { type: 'plan', plans: { pro: 'premium' }, default: 'basic' },
      },
      {
        name: 'fragile',
        tiers: [
          { name: 'broken', model: 'reshape' },
          { name: 'backup', model: 'echo' },
        ],
      },
      { name: 'doomed', tiers: [{ name: 'only', model: 'reshape' }] },
    ],
    circuit_breaker: { failures: 2, open_ms: 60_000 },
  };
  const configFile = join(repository.dir, 'switchyard.yaml');
  writeFileSync(configFile, stringify(policy));
  return { repository, configFile, env: { SWITCHYARD_CONFIG: configFile, SY_ADMIN_KEY: KEYS.admin } };
}

export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
