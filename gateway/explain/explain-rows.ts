import type { Tensor } from '../../workers/protocol/tensor.js';
import { baselineRow } from './baselines.js';
import { applyMask } from './feature-groups.js';
import type { InputPlan } from './explain-plan.js';
import { fitShapley, sampleCoalitions, seededRandom } from './kernel-shap.js';
import { rowSize, scoreVariants, type ScoringTally, type ScoringTarget } from './score-rows.js';

/** One input of one row, explained. */
export interface InputAttribution {
  readonly input: string;
  readonly row: number;
  readonly method: InputPlan['method'];
  readonly baseline: InputPlan['baseline'];
  readonly class: number;
  /** The target score of the row as sent. */
  readonly score: number;
  /**
   * What each value means: `score_drop` (occlusion, ablation: the score minus the score with
   * that feature or patch set to the baseline) or `shapley` (KernelSHAP: the values add up
   * to score − baseline_score).
   */
  readonly meaning: 'score_drop' | 'shapley';
  /** KernelSHAP: the score with every feature at the baseline. */
  readonly baseline_score?: number;
  /** The attributions' shape (the input's, a patch grid, or feature groups) and values, row-major. */
  readonly shape: readonly number[];
  readonly data: number[];
  readonly patch?: { readonly size: number; readonly stride: number };
  /** Model rows this attribution ran. */
  readonly samples: number;
}

const round = (value: number): number => Number(value.toPrecision(7));

/** Explains input `plan.layout.name` of row `row`, whose target score and class the live answer gave. */
export async function explainInputRow(
  target: ScoringTarget,
  inputs: readonly Tensor[],
  plan: InputPlan,
  row: number,
  klass: number,
  score: number,
  seed: number,
  tally: ScoringTally,
): Promise<InputAttribution> {
  const tensor = inputs.find((candidate) => candidate.name === plan.layout.name)!;
  const size = rowSize(tensor, target.config.max_batch_size > 0);
  const values = (tensor.data as Float32Array).subarray(row * size, (row + 1) * size);
  const baseline = baselineRow(plan.baseline, plan.layout, values, plan.blurRadius);
  const { groups } = plan;
  const base = {
    input: plan.layout.name,
    row,
    method: plan.method,
    baseline: plan.baseline,
    class: klass,
    score: round(score),
    shape: groups.shape,
    ...(plan.patch ? { patch: plan.patch } : {}),
  };
  if (plan.method !== 'kernel_shap') {
    const scores = await scoreVariants(
      target,
      inputs,
      plan.layout.name,
      row,
      groups.members.length,
      (i, out) => applyMask(values, baseline, groups, [i], out),
      klass,
      tally,
    );
    return { ...base, meaning: 'score_drop', data: Array.from(scores, (value) => round(score - value)), samples: groups.members.length };
  }
  const coalitions = sampleCoalitions(groups.members.length, plan.samples, seededRandom(seed));
  const offGroups = (mask: Uint8Array): number[] => {
    const off: number[] = [];
    mask.forEach((kept, j) => {
      if (!kept) off.push(j);
    });
    return off;
  };
  const all = groups.members.map((_, j) => j);
  const scores = await scoreVariants(
    target,
    inputs,
    plan.layout.name,
    row,
    plan.samples + 1,
    (i, out) => applyMask(values, baseline, groups, i < plan.samples ? offGroups(coalitions[i]!) : all, out),
    klass,
    tally,
  );
  const baselineScore = scores[plan.samples]!;
  const phi = fitShapley(coalitions, scores.subarray(0, plan.samples), baselineScore, score);
  return { ...base, meaning: 'shapley', baseline_score: round(baselineScore), data: Array.from(phi, round), samples: plan.samples + 1 };
}
