import { createHash, webcrypto } from 'node:crypto';
import type { ValidInferRequest } from '../../workers/protocol/inference.js';
import type { ModelConfig } from '../../workers/repository/model-config.js';

/** Where an entry may be reused: by its tenant only, or by every caller of the model. */
export type CacheScope = { readonly kind: 'tenant'; readonly tenant: string } | { readonly kind: 'global' };

/** The scope as it is written into the key and into the entry (checked again on a hit). */
export function scopeName(scope: CacheScope): string {
  return scope.kind === 'tenant' ? `t:${scope.tenant}` : 'global';
}

/**
 * The key of one answer: model, version, scope, the outputs asked for (every output when the
 * request names none, so asking for all by name is the same request) and the input
 * tensors' bytes (each hashed with SHA-256, the header and digests again). Inputs are hashed as the validated tensors hold them
 * (little-endian values, BYTES length-prefixed), in name order, so the same tensor sent
 * as JSON numbers, in the binary extension or by gRPC gives the same key. Nothing else in
 * a request changes its outputs: priority and timeout schedule it, `binary_data_output`
 * only encodes the answer (the cache keeps tensors, not bodies).
 */
export async function cacheKey(
  request: ValidInferRequest,
  scope: CacheScope,
  requested: readonly string[],
  config: ModelConfig,
): Promise<string> {
  const inputs = [...request.inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const outputs = [...new Set(requested)].sort();
  // The header frames the digests that follow (names, shapes, lengths), so no two requests hash alike.
  const header = JSON.stringify({
    m: request.model,
    v: request.version,
    s: scopeName(scope),
    c: configDigest(config, request.version),
    o: outputs,
    i: inputs.map((tensor) => [tensor.name, tensor.datatype, tensor.shape, tensor.data.byteLength]),
  });
  const bytes = inputs.map((tensor) => new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
  // The usual small request stays synchronous: no promise per tensor on every call's path.
  const small = bytes.every((view) => view.byteLength < THREAD_HASH_MIN_BYTES);
  const digests = small ? bytes.map((view) => createHash('sha256').update(view).digest()) : await Promise.all(bytes.map(tensorDigest));
  const hash = createHash('sha256').update(header);
  for (const digest of digests) hash.update(digest);
  return hash.digest('base64url');
}

/**
 * Tensors this large are hashed on libuv's thread pool (WebCrypto's digest is an async job
 * there), not on the event loop: SHA-256 runs at roughly 0.5 GB/s, so a 64 MiB tensor would
 * hold every other request for over 100 ms. Smaller ones cost less than the hop.
 */
export const THREAD_HASH_MIN_BYTES = 256 * 1024;

async function tensorDigest(bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes.byteLength < THREAD_HASH_MIN_BYTES) return createHash('sha256').update(bytes).digest();
  return new Uint8Array(await webcrypto.subtle.digest('SHA-256', bytes));
}

const digests = new WeakMap<ModelConfig, Map<string, string>>();

/**
 * What in a model's config shapes its answers: the platform, the version's weights source and the
 * tensors (an image input's resize and normalisation among them). A reloaded config that changes
 * them gives new keys, so no answer from before the change is served; batching, instances, price
 * or the cache's own settings may change without emptying it. Every gateway reading the same
 * config computes the same digest. Memoised per config object: it is on every request's path.
 */
function configDigest(config: ModelConfig, version: string): string {
  let byVersion = digests.get(config);
  if (!byVersion) {
    byVersion = new Map();
    digests.set(config, byVersion);
  }
  let digest = byVersion.get(version);
  if (digest === undefined) {
    const shaping = {
      platform: config.platform,
      format: config.format,
      weights: config.versions[version]?.weights,
      inputs: config.inputs,
      outputs: config.outputs,
    };
    digest = createHash('sha256').update(JSON.stringify(shaping)).digest('base64url').slice(0, 16);
    byVersion.set(version, digest);
  }
  return digest;
}
