import { ServingError } from '../../workers/protocol/errors.js';
import type { Tenant } from '../policy/policy-config.js';

/**
 * 403 unless the tenant may call `name` (a model or a route). The message is the same
 * whether or not `name` exists, so a tenant learns nothing about models it may not see.
 */
export function assertMayCall(tenant: Tenant | undefined, name: string): Tenant {
  if (!tenant) throw new ServingError('unauthorized', 'send Authorization: Bearer <key>');
  if (mayCall(tenant, name)) return tenant;
  throw new ServingError('forbidden', `this key may not call "${name}"`);
}

export function assertAdmin(tenant: Tenant | undefined): Tenant {
  if (!tenant) throw new ServingError('unauthorized', 'send Authorization: Bearer <key>');
  if (tenant.role !== 'admin') throw new ServingError('forbidden', 'this endpoint needs an admin key');
  return tenant;
}

export function mayCall(tenant: Tenant, name: string): boolean {
  return tenant.role === 'admin' || tenant.models.includes('*') || tenant.models.includes(name);
}
