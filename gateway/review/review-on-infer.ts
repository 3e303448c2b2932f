import { randomUUID } from 'node:crypto';
import { ServingError } from '../../workers/protocol/errors.js';
import type { Policy, RouteConfig } from '../policy/policy-config.js';
import { confidence } from '../routing/choose-tiers.js';
import type { PlanOutcome } from '../routing/run-plan.js';
import { inputRef, jsonOutputs, type ReviewReason } from './review-item.js';
import type { ReviewStore } from './review-store.js';

/** What the answer carries when it went to review. */
export interface ReviewMark {
  readonly id: string;
  readonly status: 'pending_review';
}

/**
 * `X-Review: true` asks for review. Checked before anything runs: on a route without
 * review (or a model called directly) it is a 400, not a silent no-op.
 */
export function reviewRequested(header: string | string[] | undefined, route: RouteConfig | undefined, name: string): boolean {
  if (header === undefined) return false;
  const value = (Array.isArray(header) ? header[0] : header)?.trim().toLowerCase();
  if (value !== 'true' && value !== 'false') throw new ServingError('invalid_parameter', 'X-Review is "true" or "false"');
  if (value === 'true' && !route?.review)
    throw new ServingError('invalid_parameter', `"${name}" has no human review: X-Review works on routes that declare review`);
  return value === 'true';
}

/** The output review judges by: the route's own, else its cascade's. */
function reviewOutput(route: RouteConfig): string | undefined {
  return route.review?.output ?? (route.policy.type === 'cascade' ? route.policy.output : undefined);
}

/** The request as its caller sent it, for the review item's input reference. */
export interface ReviewInput {
  readonly contentType: string;
  readonly body: Buffer | readonly Buffer[];
  /** An explain request's explanation: kept with the item when the route's review asks (`explain: true`). */
  readonly explanation?: unknown;
}

export interface ReviewContext {
  readonly store: ReviewStore;
  readonly policy: Policy;
  readonly tenant: string;
  readonly requestId: string;
}

/**
 * After the plan ran: counts the answer for the route's review rate and, when the final
 * tier was not confident enough or review was asked for, files a review item.
 */
export async function fileForReview(
  input: ReviewInput,
  route: RouteConfig,
  outcome: PlanOutcome,
  requested: boolean,
  context: ReviewContext,
): Promise<ReviewMark | undefined> {
  const review = route.review;
  if (!review) return undefined;
  await context.store.countRouted(route.name);
  const { result, served } = outcome;
  const output = result.outputs.find((tensor) => tensor.name === reviewOutput(route));
  const score = output ? confidence(output, served.model.definition.config.max_batch_size > 0) : undefined;
  // A missing output cannot vouch for the answer: it goes to review like an unsure one.
  const reason: ReviewReason | undefined = requested
    ? 'requested'
    : score === undefined || score < review.threshold
      ? 'low_confidence'
      : undefined;
  if (!reason) return undefined;
  const id = randomUUID();
  await context.store.create({
    id,
    route: route.name,
    tenant: context.tenant,
    request_id: context.requestId,
    created_at: new Date().toISOString(),
    state: 'pending',
    reason,
    ...(score !== undefined ? { confidence: score } : {}),
    model: result.model,
    version: result.version,
    input_ref: inputRef(input.body, input.contentType, context.policy.reviews.max_input_bytes),
    model_output: jsonOutputs(result.outputs),
    ...(review.explain && input.explanation !== undefined ? { explanation: input.explanation } : {}),
  });
  return { id, status: 'pending_review' };
}
