import { isServingError } from '../../workers/protocol/errors.js';
import type { Tensor } from '../../workers/protocol/tensor.js';
import { traceparentOf } from '../http/trace-context.js';
import { tenantPriority } from '../limits/tenant-priority.js';
import type { ReviewExplainer, StageContext } from '../request/infer-call.js';
import type { Target } from '../request/resolve-target.js';
import type { PlanOutcome } from '../routing/model-call.js';
import { modelCallServices } from '../wiring/policy-services.js';
import { copyInputs } from './decode-inputs.js';
import { explainCall } from './explain-call.js';
import { planEstimateUsd, reserveExplanation } from './explain-budget.js';
import { planExplanation } from './explain-plan.js';
import { renderHeatmaps } from './render-heatmap.js';

/** The review item's heatmap is drawn small: the console scales it up. */
export const REVIEW_HEATMAP_SIDE = 64;

/** Undefined unless the target is a route whose review keeps explanations. */
export function reviewExplainer(target: Target): ReviewExplainer | undefined {
  if (!target.route?.review?.explain) return undefined;
  let held: { context: StageContext; inputs: Tensor[]; outcome: PlanOutcome } | undefined;
  return {
    stage: async (context, run) => {
      const inputs = copyInputs(context.planned.parsed.inputs);
      const outcome = await run();
      held = { context, inputs, outcome };
      return outcome;
    },
    explainLater: (id) => {
      if (!held) return;
      const { context, inputs, outcome } = held;
      held = undefined;
      // A turn later: the answer goes out first.
      setImmediate(() => {
        explainForReview(id, context, inputs, outcome).catch((error: unknown) =>
          context.call.log.error({ err: error, review: id }, 'explaining a review item failed'),
        );
      });
    },
  };
}

/**
 * The explanation (image defaults, each row's top class) of the tier that answered, charged
 * to the caller's tenant and reserved from its budget first, as an explain request's is; one
 * that cannot be made is attached as `{error: {code, message}}`, so the reviewer knows why.
 */
async function explainForReview(id: string, context: StageContext, inputs: Tensor[], outcome: PlanOutcome): Promise<void> {
  const { call, target, planned, deps } = context;
  const store = deps.services.reviews;
  const config = outcome.served.model.definition.config;
  let explanation: unknown;
  try {
    // The output review judges by, when the route names one.
    const options = target.route?.review?.output !== undefined ? { target: target.route.review.output } : {};
    const { plans, totalRows } = planExplanation(config, options, outcome.served.request.rows);
    const reservation = await reserveExplanation(
      target.tenant,
      deps.services.budgets,
      planEstimateUsd(config, plans, outcome.served.request.rows),
      totalRows,
    );
    try {
      const explained = await explainCall({
        outcome,
        inputs,
        options,
        requestId: `${call.requestId}.review`,
        plan: target.tenant.plan,
        ...(traceparentOf(call.trace) !== undefined ? { traceparent: traceparentOf(call.trace)! } : {}),
        priority: tenantPriority(target.tenant, planned.parsed.priority),
        services: modelCallServices(deps.services, deps.backend, (error) => call.log.error({ err: error }, 'ledger write failed')),
        payer: { tenant: target.tenant.name, ...(reservation.account ? { budget: reservation.account } : {}), tally: { usd: 0 } },
      });
      const heatmap = explained.plans.some((plan) => plan.layout.image)
        ? {
            heatmap_png: (
              await renderHeatmaps(explained.modelInputs, explained.plans, explained.explanation.attributions, config, REVIEW_HEATMAP_SIDE)
            ).toString('base64'),
          }
        : {};
      explanation = { ...explained.explanation, ...heatmap };
    } finally {
      await reservation.close();
    }
  } catch (error) {
    if (!isServingError(error)) throw error;
    explanation = { error: { code: error.code, message: error.message } };
  }
  await store.attachExplanation(id, explanation);
}
