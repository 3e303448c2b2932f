import { traceStep } from '../../workers/tracing/trace-step.js';
import { bodyBytes } from '../protocol/binary-body.js';
import type { EncodedAnswer, InferCall, InferFrontEnd, InferOutcome, RunStage } from './infer-call.js';
import { throwIfCancelled } from './admit-call.js';
import { answerCall } from './answer-call.js';
import { claimIdempotency, idempotencyKeyOf } from './claim-idempotency.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { planCall } from './plan-call.js';
import { answerFromRaw, keepByBody, rawLookup } from './raw-answer.js';
import { holdSlot } from '../limits/tenant-concurrency.js';
import { resolveTarget, type Target } from './resolve-target.js';
import { runCall } from './run-call.js';
import { liveCallStarted } from './live-calls.js';

/**
 * One inference, whatever front end it came by. Authentication, the rate limit and
 * admission run first, per call, in the front end (they guard every endpoint); then:
 * target (authorize, resolve) → the response cache by raw body (a hit skips plan and run) →
 * plan (decode, tiers, validation) → idempotency → run (the
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
  // A body the cache answered before is answered again before it is parsed (request/raw-answer.ts).
  const lookup = await rawLookup(call, target, frontEnd, deps, stage);
  const cached = lookup ? await traceStep(span, 'cache', () => lookup.cache.raw.get(lookup.key.model, lookup.key.key)) : undefined;
  if (lookup && cached) {
    const answer = answerFromRaw(call, target, lookup, cached);
    return answered(call, key, target.tenant.name, call.name, lookup.body.fingerprint, deps, async () => answer());
  }
  const planned = await traceStep(span, 'plan', () => planCall(call, target, frontEnd, deps, lookup?.draw));
  throwIfCancelled(call.cancel);
  return answered(call, key, target.tenant.name, planned.plan.route, planned.fingerprint, deps, async () => {
    const run = () => runCall(call, target.tenant, planned.plan, deps);
    // A plain call on a route whose review keeps explanations: its review item is explained after the answer.
    const reviewExplain = stage ? undefined : deps.reviewExplainer?.(target);
    const around = stage ?? reviewExplain?.stage;
    const outcome = around ? await around({ call, target, planned, deps }, run) : await run();
    const result = await answerCall(call, target.tenant.name, target.route, planned, outcome, frontEnd, deps);
    if (result.review) reviewExplain?.explainLater(result.review.id);
    const answer = frontEnd.encode(result);
    if (lookup) keepByBody(lookup, planned, outcome, result.result, frontEnd);
    return answer;
  });
}

/** The Idempotency-Key around an answer: the stored response replayed, or the new answer kept for replays. */
async function answered(
  call: InferCall,
  key: string | undefined,
  tenant: string,
  route: string,
  fingerprint: () => string,
  deps: PipelineDeps,
  answer: () => Promise<EncodedAnswer>,
): Promise<InferOutcome> {
  // A step only when there is a key to claim.
  const claimed = await traceStep(key === undefined ? undefined : call.trace.span, 'idempotency', () =>
    claimIdempotency(call, key, tenant, route, fingerprint, deps),
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
    const encoded = await answer();
    if (claim) await claim.complete({ status: 200, headers: encoded.headers, body: bodyBytes(encoded.body).toString('base64') });
    return { replayed: false, answer: encoded };
  } catch (error) {
    // A rejection before execution or a 5xx leaves the key free for a retry.
    if (claim) await claim.abandon();
    throw error;
  }
}
