import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import { RESHAPE_CONFIG, buildReshapeModel } from './failing-model.js';
import { buildIdentityModel } from './identity-model.js';
import { TestRepository } from './repository.js';

export const CACHE_KEYS = {
  admin: 'cache-admin',
  alpha: 'cache-alpha',
  beta: 'cache-beta',
  limited: 'cache-limited',
  budgeted: 'cache-budgeted',
} as const;
export const ECHO_USD = 0.001;

const echo = (responseCache: Record<string, unknown> | undefined) => ({
  platform: 'onnx',
  versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
  max_batch_size: 8,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
  outputs: [{ name: 'out_x', datatype: 'FP32', shape: [4] }],
  warmup: { enabled: true, batch_sizes: [1] },
  price: { usd_per_compute_second: 0, usd_per_request: ECHO_USD },
  ...(responseCache ? { response_cache: responseCache } : {}),
});
const echoWeights = { '1/model.onnx': buildIdentityModel([{ name: 'x', datatype: 'FP32', dims: ['batch', 4] }]) };

/**
 * Echo models (identity, priced per request) caching per tenant, globally, or not at all; a
 * model that fails at run time with caching on; a pipeline whose model step calls the
 * tenant-scoped one; tenants to tell apart, one of them rate limited.
 */
export function cacheFixture(cache: Record<string, unknown> = {}): { repository: TestRepository; env: Record<string, string> } {
  const repository = new TestRepository()
    .add('echo-tenant', echo({ enabled: true, scope: 'tenant', ...cache }), echoWeights)
    .add('echo-global', echo({ enabled: true, scope: 'global', ...cache }), echoWeights)
    .add('echo-plain', echo(undefined), echoWeights)
    .add('reshape', { ...RESHAPE_CONFIG, response_cache: { enabled: true } }, { '1/model.onnx': buildReshapeModel() })
    .addPipeline('echo-task', {
      inputs: { value: { kind: 'json' } },
      steps: [
        { id: 'to-tensor', transform: 'tensor-from-json', inputs: { value: 'value' }, outputs: { tensor: 'x' } },
        { id: 'echo', model: 'echo-tenant', inputs: { x: 'x' }, outputs: { out_x: 'echoed' } },
      ],
      outputs: { echoed: 'echoed' },
    });
  const models = ['echo-tenant', 'echo-global', 'echo-plain', 'reshape', 'echo-task', 'echo-cascade', 'plain-first'];
  const policy = {
    tenants: [
      { name: 'ops', role: 'admin', keys: [{ sha256: hashKey(CACHE_KEYS.admin) }] },
      { name: 'alpha', keys: [{ sha256: hashKey(CACHE_KEYS.alpha) }], models },
      { name: 'beta', keys: [{ sha256: hashKey(CACHE_KEYS.beta) }], models },
      { name: 'limited', keys: [{ sha256: hashKey(CACHE_KEYS.limited) }], models, rate_limit: { max: 3, window_ms: 60_000 } },
      // A budget of exactly one echo request.
      { name: 'budgeted', keys: [{ sha256: hashKey(CACHE_KEYS.budgeted) }], models, budget: { usd: ECHO_USD, period: 'day' } },
    ],
    // Echo's top value is its largest input: inputs under 1 never satisfy the first tier, so both run.
    routes: [
      {
        name: 'echo-cascade',
        tiers: [
          { name: 'first', model: 'echo-tenant' },
          { name: 'second', model: 'echo-global' },
        ],
        policy: { type: 'cascade', output: 'out_x', threshold: 1 },
      },
      // Answered by its first tier, which does not cache; its fallback does.
      {
        name: 'plain-first',
        tiers: [
          { name: 'plain', model: 'echo-plain' },
          { name: 'cached', model: 'echo-tenant' },
        ],
      },
    ],
  };
  const configFile = join(repository.dir, 'switchyard.yaml');
  writeFileSync(configFile, stringify(policy));
  return { repository, env: { SWITCHYARD_CONFIG: configFile } };
}

export const cacheBearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

export const echoBody = (values: readonly number[]) => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [...values] }] });
