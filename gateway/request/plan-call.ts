import { tenantPriority } from '../limits/tenant-priority.js';
import { traceparentOf } from '../http/trace-context.js';
import type { ParsedInferRequest } from '../protocol/parse-infer-request.js';
import { reviewRequested } from '../review/review-on-infer.js';
import { planInference, type InferencePlan } from '../routing/plan-inference.js';
import type { InferCall, InferFrontEnd } from './infer-call.js';
import type { PipelineDeps } from './pipeline-deps.js';
import type { Target } from './resolve-target.js';

export interface PlannedCall {
  readonly parsed: ParsedInferRequest;
  readonly plan: InferencePlan;
  readonly reviewAsked: boolean;
  readonly fingerprint: () => string;
  /** `parameters.priority` as the body asked it, before the tenant's policy. */
  readonly askedPriority: number | undefined;
}

/**
 * Stage: the body decoded by the front end, then the route's tiers chosen and validated; with
 * `draw` when a weighted route's pick was drawn already (the response cache's raw key).
 */
export async function planCall(
  call: InferCall,
  target: Target,
  frontEnd: InferFrontEnd,
  deps: PipelineDeps,
  draw?: number,
): Promise<PlannedCall> {
  const read = await frontEnd.readBody(target.definition);
  // The version a path names and the tier a header asks for choose the model as much as the body does.
  const fingerprint = (): string => `${call.version ?? ''}\u0000${call.headers.tier ?? ''}\u0000${read.fingerprint()}`;
  // The tenant's policy decides the priority (clamped or refused), before any tier is validated.
  const parsed = { ...read.parsed, priority: tenantPriority(target.tenant, read.parsed.priority) };
  const reviewAsked = reviewRequested(call.headers.review, target.route, call.name);
  const tier = call.headers.tier;
  const plan = planInference(call.name, call.version, parsed, {
    backend: deps.backend,
    routes: deps.services.policy.routes,
    requestId: call.requestId,
    now: Date.now(),
    traceparent: traceparentOf(call.trace),
    plan: target.tenant.plan,
    random: draw === undefined ? Math.random : () => draw,
    ...(typeof tier === 'string' ? { requestedTier: tier } : {}),
  });
  return { parsed, plan, reviewAsked, fingerprint, askedPriority: read.parsed.priority };
}
