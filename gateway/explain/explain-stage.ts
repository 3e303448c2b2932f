import { tenantPriority } from '../limits/tenant-priority.js';
import { ServingError } from '../../workers/protocol/errors.js';
import { traceparentOf } from '../http/trace-context.js';
import type { RunStage } from '../request/infer-call.js';
import { modelCallServices } from '../wiring/policy-services.js';
import { copyInputs } from './decode-inputs.js';
import { explainCall, type Explanation } from './explain-call.js';
import { planEstimateUsd, reserveExplanation } from './explain-budget.js';
import { parseExplainOptions, type ExplainOptions } from './explain-options.js';
import { planExplanation } from './explain-plan.js';
import { renderHeatmaps } from './render-heatmap.js';
import { REVIEW_HEATMAP_SIDE } from './review-explain.js';

export type { Explanation } from './explain-call.js';

/** What the stage leaves for the front end: the explanation, and what a heatmap is drawn from. */
export interface ExplainState {
  explanation?: Explanation;
  /** The heatmap, when the caller asked for one. */
  png?: Buffer;
  /** A small heatmap for the review item, on routes whose review keeps explanations (image inputs only). */
  reviewHeatmap?: Buffer;
}

/**
 * The explain route's stage around the model call: options checked and rows counted against
 * max_explain_rows and the budget before anything runs; then the live call (its outputs are
 * the answer and the scores explained); then the perturbed rows of the tier that answered.
 */
export function explainStage(state: ExplainState, wantsImage: (options: ExplainOptions) => boolean): RunStage {
  return async ({ call, target, planned, deps }, run) => {
    const options = parseExplainOptions(planned.parsed.explain);
    const rows = planned.plan.tiers[0]!.request.rows;
    const first = planExplanation(target.definition.config, options, rows);
    if (wantsImage(options) && !first.plans.some((plan) => plan.layout.image)) {
      throw new ServingError('explain_unsupported', `a heatmap is drawn over an image input; "${target.definition.name}" has none`);
    }
    const firstConfig = target.definition.config;
    const output = options.target ?? firstConfig.outputs[0]!.name;
    if (!firstConfig.outputs.some((spec) => spec.name === output))
      throw new ServingError('unknown_output', `model "${firstConfig.name}" has no output "${output}" to explain`);
    const snapshot = copyInputs(planned.parsed.inputs);
    const estimate = planEstimateUsd(firstConfig, first.plans, rows);
    const reservation = await reserveExplanation(target.tenant, deps.services.budgets, estimate, first.totalRows);
    try {
      const outcome = await run();
      const explained = await explainCall({
        outcome,
        inputs: snapshot,
        options,
        requestId: call.requestId,
        plan: target.tenant.plan,
        ...(traceparentOf(call.trace) !== undefined ? { traceparent: traceparentOf(call.trace)! } : {}),
        priority: tenantPriority(target.tenant, planned.parsed.priority),
        ...(planned.parsed.timeoutMs !== undefined ? { timeoutMs: planned.parsed.timeoutMs } : {}),
        services: modelCallServices(deps.services, deps.backend, (error) => call.log.error({ err: error }, 'ledger write failed')),
        payer: { tenant: target.tenant.name, ...(reservation.account ? { budget: reservation.account } : {}), tally: { usd: 0 } },
        ...(call.cancel ? { cancel: call.cancel } : {}),
      });
      const { explanation, modelInputs, plans, costUsd } = explained;
      const config = outcome.served.model.definition.config;
      state.explanation = explanation;
      if (wantsImage(options)) state.png = await renderHeatmaps(modelInputs, plans, explanation.attributions, config);
      if (target.route?.review?.explain && plans.some((plan) => plan.layout.image)) {
        state.reviewHeatmap = await renderHeatmaps(modelInputs, plans, explanation.attributions, config, REVIEW_HEATMAP_SIDE);
      }
      call.audit.costUsd = outcome.costUsd + costUsd;
      return { ...outcome, costUsd: outcome.costUsd + costUsd };
    } finally {
      await reservation.close();
    }
  };
}
