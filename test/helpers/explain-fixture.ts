import sharp from 'sharp';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import { TestRepository } from './repository.js';

export const EXPLAIN_KEYS = { ops: 'ops-secret', acme: 'acme-secret', thrifty: 'thrifty-secret' } as const;

/** The demo models, the MLP and text-direction; a budgeted tenant, and a reviewed route that keeps explanations. */
export function explainFixture(): { repository: TestRepository; env: Record<string, string> } {
  const repository = new TestRepository()
    .copy('explain-linear')
    .copy('explain-quadrant')
    .copy('mlp-classifier')
    .copy('text-direction')
    .addPipeline('quadrant-check', {
      inputs: { image: { kind: 'image' } },
      steps: [{ id: 'classify', model: 'explain-quadrant', inputs: { image: 'image' }, outputs: { probabilities: 'probabilities' } }],
      outputs: { probabilities: 'probabilities' },
    });
  const policy = {
    tenants: [
      { name: 'ops', role: 'admin', keys: [{ sha256: hashKey(EXPLAIN_KEYS.ops) }] },
      { name: 'acme', keys: [{ sha256: hashKey(EXPLAIN_KEYS.acme) }] },
      { name: 'thrifty', keys: [{ sha256: hashKey(EXPLAIN_KEYS.thrifty) }], budget: { usd: 0.00002, period: 'day' } },
    ],
    routes: [
      {
        name: 'quadrant-reviewed',
        tiers: [{ name: 'only', model: 'explain-quadrant' }],
        review: { threshold: 1, output: 'probabilities', explain: true },
      },
      { name: 'linear-route', tiers: [{ name: 'only', model: 'explain-linear' }] },
    ],
  };
  mkdirSync(repository.dir, { recursive: true });
  const configFile = join(repository.dir, 'switchyard.yaml');
  writeFileSync(configFile, stringify(policy));
  return { repository, env: { SWITCHYARD_CONFIG: configFile } };
}

/** Deterministic values in [-1, 1], none zero. */
export function vector(seed: number, width: number): number[] {
  return Array.from({ length: width }, (_, i) => {
    const value = Math.sin(seed * 12.9898 + i * 78.233) * 0.9;
    return value >= 0 ? value + 0.1 : value - 0.1;
  });
}

/** A 32×32 RGB noise image as PNG. */
export function noiseImage(seed: number, size = 32): Promise<Buffer> {
  const pixels = Buffer.alloc(size * size * 3);
  for (let i = 0; i < pixels.length; i += 1) pixels[i] = Math.floor(((Math.sin(seed * 97.1 + i * 12.37) + 1) / 2) * 255);
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toBuffer();
}

/** Indices of the k largest |values|. */
export function topK(values: readonly number[], k: number): number[] {
  return values
    .map((value, index) => ({ value: Math.abs(value), index }))
    .sort((a, b) => b.value - a.value)
    .slice(0, k)
    .map((entry) => entry.index);
}
