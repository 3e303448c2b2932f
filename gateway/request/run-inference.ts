import { traceStep } from '../../workers/tracing/trace-step.js';
import type { InferCall, InferFrontEnd, InferOutcome, RunStage } from './infer-call.js';
import { throwIfCancelled } from './admit-call.js';
import { answerCall } from './answer-call.js';
import { claimIdempotency, idempotencyKeyOf } from './claim-idempotency.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { planCall } from './plan-call.js';
import { holdSlot } from '../limits/tenant-concurrency.js';
import { resolveTarget, type Target } from './resolve-target.js';
import { runCall } from './run-call.js';
import { liveCallStarted } from '../explain/live-calls.js';
import { reviewExplainer } from '../explain/review-explain.js';

/**
 * One inference, whatever front end it came by. Authentication, the rate limit and
 * admission run first, per call, in the front end (they guard every endpoint); then:
 * target (authorize, resolve) → plan (decode, tiers, validation) → idempotency → run (the
 * one model call: budget, breakers, cascade, ledger; then shadow) → answer (metadata, review) → encode and keep
 * for replays. The front end only decodes and encodes; audit, log and metrics read
 * `call.audit` after the answer is sent. From the target on, the call holds a slot of its
 * tenant's max_concurrency until it is answered or fails, however it ends (an abandoned call
 * holds it while its work still runs).
 * A `stage` (the explain route's) runs around the model call.
 */
export async function runInference(call: InferCall, frontEnd: InferFrontEnd, deps: PipelineDeps, stage?: RunStage): Promise<InferOutcome> {
  const span = call.trace.span;
  const target = traceStep(span, 'routing', () => resolveTarget(call, deps));
  const release = await traceStep(target.tenant.max_concurrency === undefined ? undefined : span, 'concurrency', () =>
    holdSlot(deps.services.concurrency, target.tenant, call.requestId, (error) =>
      call.log.warn({ err: error }, 'concurrency store failed'),
    ),
  );
  // Explanations' batches wait for live calls (an explain call is not one).
  const live = stage ? undefined : liveCallStarted(target.definition.config.name);
  try {
    return await servedInference(call, target, frontEnd, deps, stage);
  } finally {
    live?.();
    release();
  }
}

async function servedInference(
  call: InferCall,
  target: Target,
  frontEnd: InferFrontEnd,
  deps: PipelineDeps,
  stage: RunStage | undefined,
): Promise<InferOutcome> {
  const span = call.trace.span;
  const key = idempotencyKeyOf(call);
  const planned = await traceStep(span, 'plan', () => planCall(call, target, frontEnd, deps));
  throwIfCancelled(call.cancel);
  // A step only when there is a key to claim.
  const claimed = await traceStep(key === undefined ? undefined : span, 'idempotency', () =>
    claimIdempotency(call, key, target.tenant.name, planned.plan.route, planned.fingerprint, deps),
  );
  if (claimed.kind === 'replay') {
    // The stored answer's ids are the first caller's; this call's replace them.
    const headers: Record<string, string> = { ...claimed.response.headers, 'x-request-id': call.requestId };
    delete headers['x-client-request-id'];
    if (call.clientRequestId !== undefined) headers['x-client-request-id'] = call.clientRequestId;
    return { replayed: true, answer: { headers, body: Buffer.from(claimed.response.body, 'base64') } };
  }
  const claim = claimed.kind === 'claimed' ? claimed.claim : undefined;
  try {
    throwIfCancelled(call.cancel);
    const run = () => runCall(call, target.tenant, planned.plan, deps);
    // A plain call on a route whose review keeps explanations: its review item is explained after the answer.
    const reviewExplain = stage ? undefined : reviewExplainer(target);
    const around = stage ?? reviewExplain?.stage;
    const outcome = around ? await around({ call, target, planned, deps }, run) : await run();
    const answered = await answerCall(call, target.tenant.name, target.route, planned, outcome, frontEnd, deps);
    if (answered.review) reviewExplain?.explainLater(answered.review.id);
    const answer = frontEnd.encode(answered);
    if (claim) await claim.complete({ status: 200, headers: answer.headers, body: Buffer.from(answer.body).toString('base64') });
    return { replayed: false, answer };
  } catch (error) {
    // A rejection before execution or a 5xx leaves the key free for a retry.
    if (claim) await claim.abandon();
    throw error;
  }
}
