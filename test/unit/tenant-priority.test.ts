import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tenantPriority } from '../../gateway/limits/tenant-priority.js';
import { hashKey, loadPolicy, PolicyConfigError } from '../../gateway/policy/policy-config.js';
import { ServingError } from '../../workers/protocol/errors.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function policyFile(tenant: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-priority-'));
  dirs.push(dir);
  const path = join(dir, 'p.json');
  writeFileSync(path, JSON.stringify({ tenants: [{ name: 'batch', keys: [{ sha256: hashKey('k') }], ...tenant }] }));
  return path;
}

describe('tenant priority and share in the policy', () => {
  it('defaults to priority 0, no limit on asks, weight 1 and no concurrency limit', () => {
    const [tenant] = loadPolicy(policyFile({}), {}).tenants;
    expect(tenant).toMatchObject({ priority: 0, max_priority: 0, priority_strict: false, weight: 1 });
    expect(tenant!.max_concurrency).toBeUndefined();
  });

  it('refuses a default better than the tenant may ask for, and bad values, naming the field', () => {
    expect(() => loadPolicy(policyFile({ priority: 1, max_priority: 5 }), {})).toThrow(
      /tenants\[0\]\.priority: 1 is better than the tenant's max_priority 5/,
    );
    expect(() => loadPolicy(policyFile({ max_concurrency: 0 }), {})).toThrow(PolicyConfigError);
    expect(() => loadPolicy(policyFile({ weight: 0.5 }), {})).toThrow(/tenants\[0\]\.weight/);
    expect(() => loadPolicy(policyFile({ priority: -1 }), {})).toThrow(/tenants\[0\]\.priority/);
    expect(() => loadPolicy(policyFile({ priority_strict: 'yes' }), {})).toThrow(/tenants\[0\]\.priority_strict/);
  });

  it('gives a request the tenant default, keeps an allowed ask, and clamps a better one', () => {
    const tenant = { name: 'batch', priority: 8, max_priority: 5, priority_strict: false };
    expect(tenantPriority(tenant, undefined)).toBe(8);
    expect(tenantPriority(tenant, 5)).toBe(5);
    expect(tenantPriority(tenant, 20)).toBe(20);
    expect(tenantPriority(tenant, 0)).toBe(5);
  });

  it('refuses a better ask with 403 priority_not_allowed under priority_strict', () => {
    const tenant = { name: 'batch', priority: 8, max_priority: 5, priority_strict: true };
    expect(tenantPriority(tenant, 6)).toBe(6);
    let error: unknown;
    try {
      tenantPriority(tenant, 4);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ServingError);
    expect(error).toMatchObject({ code: 'priority_not_allowed', status: 403 });
  });
});
