import { describe, expect, it } from 'vitest';
import { AuthFailures } from '../../gateway/auth/auth-failures.js';

describe('AuthFailures', () => {
  it('lets an address fail `limit` times, then refuses it until its window ends', () => {
    const failures = new AuthFailures(3, 60_000);
    for (let i = 0; i < 2; i += 1) failures.failed('10.0.0.1', 1_000);
    expect(failures.blockedFor('10.0.0.1', 1_000)).toBe(0);
    failures.failed('10.0.0.1', 2_000);
    expect(failures.blockedFor('10.0.0.1', 2_000)).toBe(59_000);
    expect(failures.blockedFor('10.0.0.2', 2_000)).toBe(0);
    // The window started with the first failure, at 1 000 ms.
    expect(failures.blockedFor('10.0.0.1', 60_999)).toBe(1);
    expect(failures.blockedFor('10.0.0.1', 61_000)).toBe(0);
    failures.failed('10.0.0.1', 61_000);
    expect(failures.blockedFor('10.0.0.1', 61_000)).toBe(0);
  });

  it('tracks a bounded number of addresses: expired windows go first, then the oldest', () => {
    const failures = new AuthFailures(1, 1_000, 2);
    failures.failed('a', 0);
    failures.failed('b', 500);
    failures.failed('c', 1_200); // a has expired: swept
    expect([failures.blockedFor('b', 1_200), failures.blockedFor('c', 1_200)]).toEqual([300, 1_000]);
    failures.failed('d', 1_300); // nothing expired: b, the oldest, is dropped
    expect([failures.blockedFor('b', 1_300), failures.blockedFor('c', 1_300), failures.blockedFor('d', 1_300)]).toEqual([0, 900, 1_000]);
  });
});
