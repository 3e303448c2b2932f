import { ServingError } from '../../workers/protocol/errors.js';
import type { Tenant } from '../policy/policy-config.js';

/**
 * The priority a tenant's request runs at (lower runs first): the caller's, when it named
 * one no better than the tenant's max_priority; the tenant's default when it named none.
 * Asking for better is clamped to max_priority, or refused (403) under priority_strict, so
 * one tenant's batch job cannot claim the interactive level by asking for 0.
 */
export function tenantPriority(
  tenant: Pick<Tenant, 'name' | 'priority' | 'max_priority' | 'priority_strict'>,
  asked: number | undefined,
): number {
  if (asked === undefined) return tenant.priority;
  if (asked >= tenant.max_priority) return asked;
  if (tenant.priority_strict) {
    throw new ServingError(
      'priority_not_allowed',
      `tenant "${tenant.name}" may ask for priority ${tenant.max_priority} or higher numbers (lower runs first), not ${asked}`,
    );
  }
  return tenant.max_priority;
}
