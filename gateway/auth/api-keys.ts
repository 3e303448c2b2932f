import { ServingError } from '../../workers/protocol/errors.js';
import { hashKey, type Policy, PolicyConfigError, type Tenant } from '../policy/policy-config.js';
import { clientAddress, type TrustProxy } from '../http/trust-proxy.js';
import { AuthFailures } from './auth-failures.js';

/** With no tenants configured (loopback only), every caller is this local admin. */
export const OPEN_TENANT: Tenant = {
  name: 'local',
  role: 'admin',
  plan: 'default',
  models: ['*'],
  keyHashes: [],
  priority: 0,
  max_priority: 0,
  priority_strict: false,
  weight: 1,
};

export interface AuthFailureLimit {
  /** Failed authentications one client address may make per window before it gets 429. */
  readonly limit: number;
  readonly windowMs: number;
  /** Proxies whose X-Forwarded-For names the client counted (TRUST_PROXY); none when absent. */
  readonly trustProxy?: TrustProxy;
}

export const DEFAULT_AUTH_FAILURE_LIMIT: AuthFailureLimit = { limit: 20, windowMs: 60_000 };

/** Refused because this address sent too many wrong keys; HTTP says when to retry in Retry-After, gRPC in its metadata. */
export class AuthThrottledError extends ServingError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', `too many failed authentications from this address; retry in ${retryAfterSeconds} s`);
  }
}

/**
 * An `Authorization` value (HTTP header or gRPC metadata), the socket peer's address and the
 * X-Forwarded-For the request carries → its tenant; 401 (or 429) otherwise.
 */
export type Authenticator = (authorization: string | undefined, peer: string, forwardedFor: string | undefined) => Tenant;

/** `Bearer <key>`, the scheme in any case; whitespace around the value is optional whitespace (RFC 9110), ignored from either front end. */
const BEARER = /^\s*Bearer\s+(\S+)\s*$/i;

/**
 * The one key check both front ends run: `Bearer <key>`, looked up by its SHA-256. Wrong
 * keys are counted per client address across both front ends (a missing key guesses
 * nothing); the client is the peer, or behind a trusted proxy the one it names.
 */
export function keyAuthenticator(policy: Policy, failureLimit: AuthFailureLimit = DEFAULT_AUTH_FAILURE_LIMIT): Authenticator {
  const byHash = new Map<string, Tenant>();
  for (const tenant of policy.tenants) {
    for (const hash of tenant.keyHashes) {
      // loadPolicy refuses this with the file's field names; a policy built in code gets the same rule.
      const owner = byHash.get(hash);
      if (owner && owner !== tenant)
        throw new PolicyConfigError(`tenants "${owner.name}" and "${tenant.name}" list the same key; a key belongs to one tenant`);
      byHash.set(hash, tenant);
    }
  }
  if (policy.tenants.length === 0) return () => OPEN_TENANT;
  const failures = new AuthFailures(failureLimit.limit, failureLimit.windowMs);
  const clientOf = clientAddress(failureLimit.trustProxy ?? false);
  return (authorization, peer, forwardedFor) => {
    const address = clientOf(peer, forwardedFor);
    const now = Date.now();
    const waitMs = failures.blockedFor(address, now);
    if (waitMs > 0) throw new AuthThrottledError(Math.ceil(waitMs / 1000));
    const match = authorization ? BEARER.exec(authorization) : null;
    if (!match) throw new ServingError('unauthorized', 'send Authorization: Bearer <key>');
    const tenant = byHash.get(hashKey(match[1]!));
    if (tenant) return tenant;
    failures.failed(address, now);
    throw new ServingError('unauthorized', 'unknown API key');
  };
}
