import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import { echoModel } from './identity-model.js';
import { TestRepository } from './repository.js';

export const TASK_KEYS = {
  admin: 'ops-key',
  alpha: 'alpha-key',
  beta: 'beta-key',
  outsider: 'outsider-key',
  gamma: 'gamma-key',
  budgeted: 'budgeted-key',
  limited: 'limited-key',
} as const;
export const ALPHA_CALLBACK_SECRET = 'alpha-callback-secret-0123456789';
/** Each echo request costs exactly this, so budgets count tasks. */
export const ECHO_PRICE_USD = 0.001;
export const BUDGETED_TASKS = 2;

/**
 * An echo model (identity, priced per request) and a pipeline `echo-json` that turns a
 * JSON tensor into the model's input and returns its output; tenants to exercise the
 * policy layer on tasks.
 */
export function taskFixture(): { repository: TestRepository; env: Record<string, string> } {
  const repository = new TestRepository()
    .add(
      'echo',
      ...echoModel({ warmup: { enabled: true, batch_sizes: [1] }, price: { usd_per_compute_second: 0, usd_per_request: ECHO_PRICE_USD } }),
    )
    .addPipeline('echo-json', {
      inputs: { value: { kind: 'json' } },
      steps: [
        { id: 'to-tensor', transform: 'tensor-from-json', inputs: { value: 'value' }, outputs: { tensor: 'x' } },
        { id: 'echo', model: 'echo', inputs: { x: 'x' }, outputs: { out_x: 'echoed' } },
      ],
      outputs: { echoed: 'echoed' },
    })
    // The same through a route: its model step names the cascade below, not a model.
    .addPipeline('echo-routed', {
      inputs: { value: { kind: 'json' } },
      steps: [
        { id: 'to-tensor', transform: 'tensor-from-json', inputs: { value: 'value' }, outputs: { tensor: 'x' } },
        { id: 'echo', model: 'echo-cascade', inputs: { x: 'x' }, outputs: { out_x: 'echoed' } },
      ],
      outputs: { echoed: 'echoed' },
    });
  const policy = {
    tenants: [
      { name: 'ops', role: 'admin', keys: [{ sha256: hashKey(TASK_KEYS.admin) }] },
      // alpha may call back a receiver on loopback; gamma, with the default policy, only public addresses.
      {
        name: 'alpha',
        keys: [{ sha256: hashKey(TASK_KEYS.alpha) }],
        models: ['echo-json', 'echo-routed'],
        callback_secret: { env: 'ALPHA_CALLBACK_SECRET' },
        callback_allow: ['127.0.0.1'],
      },
      {
        name: 'gamma',
        keys: [{ sha256: hashKey(TASK_KEYS.gamma) }],
        models: ['echo-json'],
        callback_secret: { env: 'ALPHA_CALLBACK_SECRET' },
      },
      { name: 'beta', keys: [{ sha256: hashKey(TASK_KEYS.beta) }], models: ['echo-json'] },
      { name: 'outsider', keys: [{ sha256: hashKey(TASK_KEYS.outsider) }], models: ['echo'] },
      { name: 'limited', keys: [{ sha256: hashKey(TASK_KEYS.limited) }], models: ['echo-json'], rate_limit: { max: 2, window_ms: 60_000 } },
      {
        name: 'budgeted',
        keys: [{ sha256: hashKey(TASK_KEYS.budgeted) }],
        models: ['echo-json'],
        budget: { usd: BUDGETED_TASKS * ECHO_PRICE_USD, period: 'day' },
      },
    ],
    // Echo's top value is its largest input: inputs under 1 never satisfy the first tier, so both run.
    routes: [
      {
        name: 'echo-cascade',
        tiers: [
          { name: 'first', model: 'echo' },
          { name: 'second', model: 'echo' },
        ],
        policy: { type: 'cascade', output: 'out_x', threshold: 1 },
      },
    ],
  };
  const configFile = join(repository.dir, 'switchyard.yaml');
  writeFileSync(configFile, stringify(policy));
  // An open gateway (no tenants) over the same repository still needs the route echo-routed names.
  const openConfigFile = join(repository.dir, 'switchyard-open.yaml');
  writeFileSync(openConfigFile, stringify({ routes: policy.routes }));
  return { repository, env: { SWITCHYARD_CONFIG: configFile, ALPHA_CALLBACK_SECRET }, openEnv: { SWITCHYARD_CONFIG: openConfigFile } };
}

export const echoInput = (values: number[]): { inputs: { value: { datatype: string; shape: number[]; data: number[] } } } => ({
  inputs: { value: { datatype: 'FP32', shape: [1, 4], data: values } },
});

export const bearerKey = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
