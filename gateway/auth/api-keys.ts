import { ServingError } from '../../workers/protocol/errors.js';
import { hashKey, type Policy, type Tenant } from '../policy/policy-config.js';

/** With no tenants configured (loopback only), every caller is this local admin. */
export const OPEN_TENANT: Tenant = { name: 'local', role: 'admin', plan: 'default', models: ['*'], keyHashes: [] };

/** An `Authorization` value (HTTP header or gRPC metadata) → its tenant; 401 otherwise. */
export type Authenticator = (authorization: string | undefined) => Tenant;

/** The one key check both front ends run: `Bearer <key>`, looked up by its SHA-256. */
export function keyAuthenticator(policy: Policy): Authenticator {
  const byHash = new Map<string, Tenant>();
  for (const tenant of policy.tenants) for (const hash of tenant.keyHashes) byHash.set(hash, tenant);
  if (policy.tenants.length === 0) return () => OPEN_TENANT;
  return (authorization) => {
    const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    if (!match) throw new ServingError('unauthorized', 'send Authorization: Bearer <key>');
    const tenant = byHash.get(hashKey(match[1]!));
    if (!tenant) throw new ServingError('unauthorized', 'unknown API key');
    return tenant;
  };
}
