import { z } from 'zod';
import { isTensor } from '../../step-values.js';
import { TransformInputError, type Transform } from '../transform.js';
import { decide } from './moderation-decision.js';

const thresholds = z.record(z.string().min(1), z.number().min(0).max(1));

/**
 * Defaults for nsfwjs's classes: an explicit class blocks when the classifier is sure
 * (0.9) and goes to a human when it is more likely than not (0.5); suggestive images go
 * to a human at 0.7; drawings and neutral images pass. Lower review thresholds catch
 * more and cost reviewers: generated landscapes score porn about 0.3. A tenant's policy
 * may override any of them.
 */
const options = z.strictObject({
  labels: z.array(z.string().min(1)).min(1).default(['drawing', 'hentai', 'neutral', 'porn', 'sexy']),
  block: thresholds.default({ porn: 0.9, hentai: 0.9 }),
  review: thresholds.default({ porn: 0.5, hentai: 0.5, sexy: 0.7 }),
});

export type ModerationOptions = z.input<typeof options>;

const round = (value: number): number => Math.round(value * 10_000) / 10_000;

/** A classifier's probabilities -> `scores` by label, a `decision` (allow, review, block) and the `reasons` for it. */
export function moderationDecide(): Transform {
  return {
    name: 'moderation.decide',
    inputs: ['scores'],
    outputs: ['scores', 'decision', 'reasons'],
    checkOptions: (raw) => {
      const chosen = options.parse(raw);
      for (const label of [...Object.keys(chosen.block), ...Object.keys(chosen.review)]) {
        if (!chosen.labels.includes(label))
          throw new Error(`threshold for "${label}", which is not one of the labels (${chosen.labels.join(', ')})`);
      }
    },
    async run(inputs, raw) {
      const chosen = options.parse(raw);
      const probabilities = inputs['scores'];
      if (!isTensor(probabilities) || probabilities.data.length !== chosen.labels.length) {
        throw new TransformInputError(`scores must be one classifier output of ${chosen.labels.length} values`);
      }
      const scores = Object.fromEntries(chosen.labels.map((label, index) => [label, round(Number(probabilities.data[index]))]));
      const verdict = decide(scores, chosen.block, chosen.review);
      return { scores, decision: verdict.decision, reasons: verdict.reasons };
    },
  };
}
