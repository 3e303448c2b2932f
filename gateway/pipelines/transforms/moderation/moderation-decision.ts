export type Decision = 'allow' | 'review' | 'block';

/** Label -> score at or above which that label alone calls for the action. */
export type Thresholds = Readonly<Record<string, number>>;

export interface DecisionReason {
  readonly label: string;
  readonly score: number;
  readonly threshold: number;
  readonly decision: Exclude<Decision, 'allow'>;
}

export interface ModerationVerdict {
  readonly decision: Decision;
  /** Every threshold the scores reached, block ones first, highest score first within each. */
  readonly reasons: DecisionReason[];
}

/**
 * Block when any label reaches its block threshold, else review when any reaches its
 * review threshold, else allow. Labels without a threshold never count.
 */
export function decide(scores: Readonly<Record<string, number>>, block: Thresholds, review: Thresholds): ModerationVerdict {
  const reached = (thresholds: Thresholds, decision: DecisionReason['decision']): DecisionReason[] =>
    Object.entries(thresholds)
      .filter(([label, threshold]) => (scores[label] ?? 0) >= threshold)
      .map(([label, threshold]) => ({ label, score: scores[label]!, threshold, decision }))
      .sort((a, b) => b.score - a.score);
  const blocking = reached(block, 'block');
  const reviewing = reached(review, 'review');
  return { decision: blocking.length > 0 ? 'block' : reviewing.length > 0 ? 'review' : 'allow', reasons: [...blocking, ...reviewing] };
}
