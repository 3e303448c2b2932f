import * as crypto from 'node:crypto';
import type { ModelConfig } from '../../workers/repository/model-config.js';
import type { RouteConfig } from '../policy/policy-config.js';
import { chooseTiers } from '../routing/choose-tiers.js';
import { resolveModel, type ResolvedModel } from '../routing/resolve-model.js';
import type { ServingBackend } from '../serving-backend.js';
import { THREAD_HASH_MIN_BYTES, scopeName } from '../cache/cache-key.js';
import type { RawBody } from '../protocol/read-infer-body.js';

/** What a call would run, known before its body is read. */
export interface RawCall {
  readonly name: string;
  readonly version?: string;
  readonly route?: RouteConfig;
  readonly tenant: { readonly name: string; readonly plan: string };
  readonly requestedTier?: string;
  /** The draw of a weighted route: the plan, if the body is parsed after all, must use the same one. */
  readonly draw: number;
}

export interface RawKey {
  /** The model of the first tier: a raw entry lives with it. */
  readonly model: string;
  readonly key: string;
}

/**
 * The raw key of a call: what the call's plan would be, the body's form and the SHA-256 of
 * its bytes. The plan part is each tier the route would try, in its order for this call (the same
 * draw, plan and X-Tier as planInference), with the model, the version it resolves to now,
 * its whole config (digested) and the cache scope (the tenant's name under `tenant`), and the
 * route's config: so a reloaded config, a new default version or another canary pick gives
 * another key, never the answer of another version. Undefined when the first tier does not
 * cache, or when the call cannot be resolved (the parsed path then gives the error).
 */
export async function rawKey(call: RawCall, body: RawBody, backend: ServingBackend): Promise<RawKey | undefined> {
  let tiers: { readonly tier: string; readonly model: ResolvedModel }[];
  try {
    tiers = planned(call, backend);
  } catch {
    return undefined;
  }
  const first = tiers[0]?.model.definition.config;
  if (!first?.response_cache.enabled) return undefined;
  let signature = `${call.name}\n${call.route ? routeDigest(call.route) : ''}\n${body.form}\n`;
  for (const { tier, model } of tiers) {
    const { config } = model.definition;
    const scope = config.response_cache.scope === 'global' ? 'global' : scopeName({ kind: 'tenant', tenant: call.tenant.name });
    signature += `${tier}\t${config.name}\t${model.version}\t${configDigest(config)}\t${config.response_cache.enabled ? scope : ''}\n`;
  }
  return { model: first.name, key: signature + (await bodyDigest(body.bytes)) };
}

/** The tiers planInference would plan for this call (the shadow last), without the body. */
function planned(call: RawCall, backend: ServingBackend): { readonly tier: string; readonly model: ResolvedModel }[] {
  const route = call.route;
  if (!route) return [{ tier: 'direct', model: resolveModel(backend, call.name, call.version) }];
  if (call.version !== undefined) throw new Error('a route takes no version');
  const order = chooseTiers(route, {
    plan: call.tenant.plan,
    random: call.draw,
    ...(call.requestedTier !== undefined ? { requestedTier: call.requestedTier } : {}),
  });
  const shadow = route.shadow ? route.tiers.find((tier) => tier.name === route.shadow!.tier) : undefined;
  return [...order.map((index) => route.tiers[index]!), ...(shadow ? [shadow] : [])].map((tier) => ({
    tier: tier.name,
    model: resolveModel(backend, tier.model, tier.version),
  }));
}

/** One-shot hashing where Node has it (20.12): no hash object per call. */
const smallDigest: (bytes: Buffer) => string =
  typeof crypto.hash === 'function'
    ? (bytes) => crypto.hash('sha256', bytes, 'base64url')
    : (bytes) => crypto.createHash('sha256').update(bytes).digest('base64url');

/** A large body is hashed on libuv's thread pool, as large tensors are (cache-key.ts): not on the event loop. */
async function bodyDigest(bytes: Buffer): Promise<string> {
  if (bytes.byteLength < THREAD_HASH_MIN_BYTES) return smallDigest(bytes);
  return Buffer.from(await crypto.webcrypto.subtle.digest('SHA-256', bytes)).toString('base64url');
}

const configDigests = new WeakMap<ModelConfig, string>();
const routeDigests = new WeakMap<RouteConfig, string>();

/** Memoised per config object: a reload makes a new one. */
function configDigest(config: ModelConfig): string {
  let digest = configDigests.get(config);
  if (digest === undefined) {
    digest = crypto.createHash('sha256').update(JSON.stringify(config)).digest('base64url').slice(0, 22);
    configDigests.set(config, digest);
  }
  return digest;
}

function routeDigest(route: RouteConfig): string {
  let digest = routeDigests.get(route);
  if (digest === undefined) {
    digest = crypto.createHash('sha256').update(JSON.stringify(route)).digest('base64url').slice(0, 22);
    routeDigests.set(route, digest);
  }
  return digest;
}
