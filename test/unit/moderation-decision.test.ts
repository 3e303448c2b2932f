import { describe, expect, it } from 'vitest';
import { moderationDecide } from '../../gateway/pipelines/transforms/moderation/moderation-decide.js';
import { decide } from '../../gateway/pipelines/transforms/moderation/moderation-decision.js';

const BLOCK = { porn: 0.85, hentai: 0.85 };
const REVIEW = { porn: 0.3, hentai: 0.3, sexy: 0.5 };

describe('moderation decision', () => {
  it('allows when no threshold is reached, reviews at a review threshold, blocks at a block threshold', () => {
    expect(decide({ neutral: 0.9, porn: 0.05, sexy: 0.05 }, BLOCK, REVIEW)).toEqual({ decision: 'allow', reasons: [] });
    expect(decide({ neutral: 0.4, sexy: 0.5 }, BLOCK, REVIEW)).toEqual({
      decision: 'review',
      reasons: [{ label: 'sexy', score: 0.5, threshold: 0.5, decision: 'review' }],
    });
    const blocked = decide({ porn: 0.9, sexy: 0.6 }, BLOCK, REVIEW);
    expect(blocked.decision).toBe('block');
    // Block reasons first, then every review threshold that was reached too.
    expect(blocked.reasons.map((reason) => `${reason.decision}:${reason.label}`)).toEqual(['block:porn', 'review:porn', 'review:sexy']);
  });

  it("checks thresholds against the labels when the pipeline loads, and the scores' length when it runs", async () => {
    const transform = moderationDecide();
    expect(() => transform.checkOptions({ block: { nudity: 0.5 } })).toThrow(/not one of the labels/);
    expect(() => transform.checkOptions({ review: { sexy: 1.5 } })).toThrow();
    const context = { callModel: () => Promise.reject(new Error('no model')) };
    await expect(
      transform.run({ scores: { name: 'x', datatype: 'FP32', shape: [1, 3], data: new Float32Array(3) } }, {}, context),
    ).rejects.toThrow(/5 values/);
    const scores = { name: 'x', datatype: 'FP32' as const, shape: [1, 5], data: new Float32Array([0.1, 0.0, 0.2, 0.1, 0.6]) };
    // Documented defaults: sexy 0.6 is under the review threshold (0.7); an override of 0.55 reviews it.
    expect(await transform.run({ scores }, {}, context)).toMatchObject({ decision: 'allow', reasons: [] });
    expect(await transform.run({ scores }, { review: { sexy: 0.55 } }, context)).toMatchObject({
      decision: 'review',
      scores: { drawing: 0.1, neutral: 0.2, sexy: 0.6 },
    });
  });
});
