import { describe, expect, it } from 'vitest';
import { TaskAdmission } from '../../gateway/tasks/task-admission.js';

describe('TaskAdmission (batch places of one gateway)', () => {
  it('admits a batch whole or not at all, and takes places back one by one', () => {
    const admission = new TaskAdmission(10);
    const first = admission.admit(6);
    expect(() => admission.admit(5)).toThrow(expect.objectContaining({ code: 'tasks_busy', status: 503 }));
    // The refusal reserved nothing.
    expect(admission.held).toBe(6);
    const second = admission.admit(4);
    expect(admission.held).toBe(10);
    first.release();
    first.release();
    expect(admission.held).toBe(8);
    second.release();
    expect(admission.held).toBe(7);
  });

  it('never lets concurrent batches past the limit together', async () => {
    const admission = new TaskAdmission(50);
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, async (_, index) => {
        await new Promise((resolve) => setImmediate(resolve));
        try {
          admission.admit(1 + (index % 4));
          return 1 + (index % 4);
        } catch {
          return 0;
        }
      }),
    );
    const admitted = outcomes.reduce((sum, count) => sum + count, 0);
    expect(admitted).toBe(admission.held);
    expect(admitted).toBeLessThanOrEqual(50);
    expect(outcomes.filter((count) => count === 0).length).toBeGreaterThan(0);
  });

  it('releases no more places than it took', () => {
    const admission = new TaskAdmission(3);
    const places = admission.admit(2);
    for (let i = 0; i < 5; i += 1) places.release();
    expect(admission.held).toBe(0);
  });
});
