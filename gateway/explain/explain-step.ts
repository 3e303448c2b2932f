import { isServingError } from '../../workers/protocol/errors.js';
import type { ExplainStep } from '../pipelines/model-step.js';
import type { ModelCallPayer, ModelCallServices } from '../routing/model-call.js';
import { explainCall } from './explain-call.js';

export interface StepExplainContext {
  readonly services: ModelCallServices;
  /** The task's payer: the rows are charged to its budget and counted in its cost. */
  readonly payer: ModelCallPayer & { readonly tally: { usd: number } };
  readonly plan: string;
  readonly priority: number;
  readonly deadline: number;
  readonly traceparent?: string;
}

/**
 * A task's `"explain": true`: each request of a step whose model takes an image (a
 * classification step, such as the moderation pipeline's) gets its explanation with the
 * defaults for images. An explanation that cannot be made is reported, not fatal: the
 * task's answer stands without it.
 */
export function taskExplainStep(context: StepExplainContext): ExplainStep {
  return async (outcome, inputs, requestId) => {
    if (!outcome.served.model.definition.config.inputs.some((spec) => spec.image)) return undefined;
    try {
      const explained = await explainCall({
        outcome,
        inputs,
        options: {},
        requestId,
        plan: context.plan,
        ...(context.traceparent !== undefined ? { traceparent: context.traceparent } : {}),
        priority: context.priority,
        timeoutMs: Math.max(1, context.deadline - Date.now()),
        services: context.services,
        payer: context.payer,
      });
      return explained.explanation;
    } catch (error) {
      if (!isServingError(error)) throw error;
      return { error: { code: error.code, message: error.message } };
    }
  };
}
