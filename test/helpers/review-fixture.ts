import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import { buildMlp, DEMO_MLP } from '../../models/build/mlp.js';
import { TestRepository } from './repository.js';

export const REVIEW_KEYS = { ops: 'ops-secret', lead: 'lead-secret', acme: 'acme-secret' } as const;

/** The demo MLP's top probability is about 0.26 at the median: roughly half the answers go to review. */
export const REVIEW_THRESHOLD = 0.26;

/**
 * Two versions of the MLP (v2 from another seed) behind three routes: one reviewed by
 * its own output, a cascade reviewed by the cascade's output, and one without review.
 * Two admin tenants review; one user tenant calls.
 */
export function reviewFixture(): { repository: TestRepository; configFile: string; env: Record<string, string> } {
  const repository = new TestRepository().copy('mlp-classifier', {
    versions: {
      '1': { weights: { source: 'file', path: 'model.onnx' } },
      '2': { weights: { source: 'file', path: 'model.onnx' } },
    },
    version_policy: { all: {} },
    warmup: { enabled: true, batch_sizes: [1] },
  });
  mkdirSync(join(repository.dir, 'mlp-classifier', '2'), { recursive: true });
  writeFileSync(join(repository.dir, 'mlp-classifier', '2', 'model.onnx'), buildMlp({ ...DEMO_MLP, seed: 7 }));

  const policy = {
    tenants: [
      { name: 'ops', role: 'admin', keys: [{ sha256: hashKey(REVIEW_KEYS.ops) }] },
      { name: 'lead', role: 'admin', keys: [{ sha256: hashKey(REVIEW_KEYS.lead) }] },
      { name: 'acme', keys: [{ sha256: hashKey(REVIEW_KEYS.acme) }], models: ['reviewed', 'triaged', 'plain'] },
    ],
    routes: [
      {
        name: 'reviewed',
        tiers: [{ name: 'full', model: 'mlp-classifier', version: '1' }],
        review: { threshold: REVIEW_THRESHOLD, output: 'probabilities' },
      },
      {
        name: 'triaged',
        tiers: [
          { name: 'cheap', model: 'mlp-classifier', version: '2' },
          { name: 'full', model: 'mlp-classifier', version: '1' },
        ],
        policy: { type: 'cascade', output: 'probabilities', threshold: 0.5 },
        review: { threshold: REVIEW_THRESHOLD },
      },
      { name: 'plain', tiers: [{ name: 'full', model: 'mlp-classifier', version: '1' }] },
    ],
  };
  const configFile = join(repository.dir, 'switchyard.yaml');
  writeFileSync(configFile, stringify(policy));
  return { repository, configFile, env: { SWITCHYARD_CONFIG: configFile } };
}
