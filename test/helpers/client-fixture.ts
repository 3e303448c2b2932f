import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { hashKey } from '../../gateway/policy/policy-config.js';
import { buildIdentityModel, type IdentityDatatype } from './identity-model.js';
import { taskFixture } from './task-fixture.js';
import type { TestRepository } from './repository.js';

/** One identity input per datatype the client test sends: [name, datatype, elements per row]. */
export const TYPED_INPUTS: readonly (readonly [string, IdentityDatatype, number])[] = [
  ['f32', 'FP32', 3],
  ['i32', 'INT32', 3],
  ['i64', 'INT64', 2],
  ['u8', 'UINT8', 4],
  ['flag', 'BOOL', 2],
  ['half', 'FP16', 2],
  ['f64', 'FP64', 2],
  ['text', 'BYTES', 2],
];
export const BURST_KEY = 'burst-key';
/** The burst tenant's window: short, so a retry after Retry-After gets through within the test. */
export const BURST_WINDOW_MS = 1500;

const onnxFile = { weights: { source: 'file', path: 'model.onnx' } };

/**
 * The task fixture (echo model, echo-json pipeline, alpha with a callback secret and loopback
 * callbacks allowed) plus `types`, an identity over many datatypes, and `burst`, a tenant
 * allowed one call per 1.5 s.
 */
export function clientFixture(): { repository: TestRepository; env: Record<string, string> } {
  const { repository, env } = taskFixture();
  const dims = (n: number): (string | number)[] => ['batch', n];
  repository.add(
    'types',
    {
      platform: 'onnx',
      versions: { '1': onnxFile },
      max_batch_size: 4,
      inputs: TYPED_INPUTS.map(([name, datatype, n]) => ({ name, datatype, shape: [n] })),
      outputs: TYPED_INPUTS.map(([name, datatype, n]) => ({ name: `out_${name}`, datatype, shape: [n] })),
      price: { usd_per_compute_second: 0, usd_per_request: 0.002 },
      // Distributed, with no worker yet, a call waits this long queued before its 503 (the client retries it).
      cold_start: { max_wait_ms: 1_000 },
    },
    { '1/model.onnx': buildIdentityModel(TYPED_INPUTS.map(([name, datatype, n]) => ({ name, datatype, dims: dims(n) }))) },
  );
  const policy = parse(readFileSync(env.SWITCHYARD_CONFIG!, 'utf8')) as { tenants: { name: string; models?: string[] }[] };
  const alpha = policy.tenants.find((tenant) => tenant.name === 'alpha')!;
  alpha.models = [...(alpha.models ?? []), 'types', 'echo'];
  const burst = {
    name: 'burst',
    keys: [{ sha256: hashKey(BURST_KEY) }],
    models: ['types'],
    rate_limit: { max: 1, window_ms: BURST_WINDOW_MS },
  };
  policy.tenants.push(burst as never);
  writeFileSync(env.SWITCHYARD_CONFIG!, stringify(policy));
  return { repository, env };
}
