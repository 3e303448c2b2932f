import { responseMetadata } from '../metadata/response-metadata.js';
import { classifyOutputs } from '../protocol/classification.js';
import type { RouteConfig } from '../policy/policy-config.js';
import { fileForReview } from '../review/review-on-infer.js';
import { answeredCache } from '../routing/cached-plan.js';
import type { PlanOutcome } from '../routing/run-plan.js';
import type { InferAnswer, InferCall, InferFrontEnd } from './infer-call.js';
import type { PipelineDeps } from './pipeline-deps.js';
import type { PlannedCall } from './plan-call.js';

/**
 * Stage: the serving facts (request id, tier, timings, cost), the answer filed for review when the
 * route asks, and the outputs asked for as classifications turned into them.
 */
export async function answerCall(
  call: InferCall,
  tenant: string,
  route: RouteConfig | undefined,
  planned: PlannedCall,
  outcome: PlanOutcome,
  frontEnd: InferFrontEnd,
  deps: PipelineDeps,
): Promise<InferAnswer> {
  const { result, served } = outcome;
  const cache = answeredCache(outcome);
  const metadata = responseMetadata(
    call,
    result,
    served.model.definition.config.price,
    served.request.rows,
    {
      route: planned.plan.route,
      tier: served.tier,
      escalated: outcome.escalated,
      costUsd: outcome.costUsd,
      priority: served.request.priority,
      ...(cache !== undefined ? { cache } : {}),
    },
    performance.now() - call.arrivedAt,
  );
  const review = route
    ? await fileForReview(frontEnd.reviewInput(), route, outcome, planned.reviewAsked, {
        store: deps.services.reviews,
        policy: deps.services.policy,
        tenant,
        requestId: call.requestId,
      })
    : undefined;
  if (review) call.audit.reviewId = review.id;
  // The classification extension reshapes the answer only: review, cache and policies keep the tensors.
  const answered = classifyOutputs(result, planned.parsed.outputs, served.model.definition);
  return { parsed: planned.parsed, result: answered, metadata, ...(review ? { review } : {}) };
}
