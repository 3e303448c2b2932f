import { ServingError } from '../../workers/protocol/errors.js';
import type { Tensor } from '../../workers/protocol/tensor.js';
import { requestCost } from '../metadata/request-cost.js';
import { resolveModel } from '../routing/resolve-model.js';
import { validateRequest } from '../routing/validate-request.js';
import type { StepRequestContext } from './model-step.js';
import { inferForStep } from './step-inference.js';
import type { TransformContext } from './transforms/transform.js';

/** What a transform's own model requests added up to, for the step's metadata and the task's cost. */
export interface TransformModelUsage {
  requests: number;
  compute_ms: number;
  cost_usd: number;
  /** The same per model version, so the spend ledger can charge each. */
  by_model: { model: string; version: string; requests: number; cost_usd: number }[];
}

/**
 * The context a transform step runs with: its model requests are validated like a
 * model step's and go through the same backend (so they queue, batch and are priced like
 * any other request); each is refused once the task's deadline has passed, so a loop
 * cannot outlive its task.
 */
export function transformContext(stepId: string, context: StepRequestContext): { context: TransformContext; usage: TransformModelUsage } {
  const usage: TransformModelUsage = { requests: 0, compute_ms: 0, cost_usd: 0, by_model: [] };
  const callModel: TransformContext['callModel'] = async (name, inputs, version) => {
    const now = Date.now();
    if (now >= context.deadline) throw new ServingError('request_timeout', `step "${stepId}" reached the task's deadline`);
    const model = resolveModel(context.backend, name, version);
    const request = validateRequest(
      { inputs: [...inputs], outputs: [], binaryByDefault: false, priority: context.priority, timeoutMs: context.deadline - now },
      model,
      { requestId: `${context.taskId}.${stepId}.${usage.requests}`, now, ...(context.traceparent !== undefined ? { traceparent: context.traceparent } : {}) },
    );
    usage.requests += 1;
    const result = await inferForStep(context, request);
    const share = result.timings.batchRows > 0 ? request.rows / result.timings.batchRows : 1;
    usage.compute_ms += result.timings.computeMs * share;
    const cost = requestCost(model.definition.config.price, result.timings, request.rows);
    usage.cost_usd += cost;
    let entry = usage.by_model.find((candidate) => candidate.model === result.model && candidate.version === result.version);
    if (!entry) {
      entry = { model: result.model, version: result.version, requests: 0, cost_usd: 0 };
      usage.by_model.push(entry);
    }
    entry.requests += 1;
    entry.cost_usd += cost;
    return new Map<string, Tensor>(result.outputs.map((tensor) => [tensor.name, tensor]));
  };
  return { context: { callModel }, usage };
}
