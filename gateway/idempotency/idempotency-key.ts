import { createHash } from 'node:crypto';
import { ServingError } from '../../workers/protocol/errors.js';

/** The Idempotency-Key header, checked (IETF draft: a string; here 1 to 255 characters). */
export function readIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const key = Array.isArray(header) ? header[0] : header;
  if (key === undefined || key.length === 0 || key.length > 255) {
    throw new ServingError('idempotency_key_invalid', 'Idempotency-Key must be 1 to 255 characters');
  }
  return key;
}

/**
 * Tenant + route + key: the same key from another tenant or for another route is another
 * record. `<tenant>:<digest>`: the store keeps a tenant's records beside its other keys.
 */
export function idempotencyScope(tenant: string, route: string, key: string): string {
  return `${tenant}:${createHash('sha256').update(`${tenant}\u0000${route}\u0000${key}`).digest('hex')}`;
}

/** The tenant a scope belongs to (tenant names cannot hold ':'). */
export function scopeTenant(scope: string): string {
  const end = scope.indexOf(':');
  return end < 0 ? '' : scope.slice(0, end);
}
