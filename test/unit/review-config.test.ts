import { describe, expect, it } from 'vitest';
import { policySchema } from '../../gateway/policy/policy-config.js';

const tiers = [{ name: 'a', model: 'm' }];

describe('route review config', () => {
  it("defaults the output to a cascade's and requires one otherwise", () => {
    const cascade = policySchema.safeParse({
      routes: [{ name: 'r', tiers, policy: { type: 'cascade', output: 'p', threshold: 0.5 }, review: { threshold: 0.3 } }],
    });
    expect(cascade.success).toBe(true);
    const fixed = policySchema.safeParse({ routes: [{ name: 'r', tiers, review: { threshold: 0.3 } }] });
    expect(fixed.success).toBe(false);
    expect(fixed.error?.issues[0]?.path).toEqual(['routes', 0, 'review', 'output']);
    expect(policySchema.safeParse({ routes: [{ name: 'r', tiers, review: { threshold: 0.3, output: 'p' } }] }).success).toBe(true);
    expect(policySchema.safeParse({ routes: [{ name: 'r', tiers, review: { threshold: 1.5, output: 'p' } }] }).success).toBe(false);
  });

  it('keeps items a week and bodies up to 1 MiB by default', () => {
    expect(policySchema.parse({}).reviews).toEqual({ retention_hours: 168, max_input_bytes: 1_048_576 });
  });
});
