import { ServingError } from '../../workers/protocol/errors.js';
import type { Tensor } from '../../workers/protocol/tensor.js';
import { stepModelCall, type StepRequestContext } from './model-step.js';
import type { TransformContext } from './transforms/transform.js';

/** What a transform's own model requests added up to, for the step's metadata and the task's cost. */
export interface TransformModelUsage {
  requests: number;
  compute_ms: number;
  cost_usd: number;
  /** The same per model version. */
  by_model: { model: string; version: string; requests: number; cost_usd: number }[];
}

/**
 * The context a transform step runs with: its model requests take the same path as a
 * model step's (routes, breakers, budget, ledger; they queue and batch like any other
 * request); each is refused once the task's deadline has passed, so a loop cannot outlive
 * its task.
 */
export function transformContext(
  stepId: string,
  context: StepRequestContext,
  untilRunEnds: TransformContext['untilRunEnds'],
): { context: TransformContext; usage: TransformModelUsage } {
  const usage: TransformModelUsage = { requests: 0, compute_ms: 0, cost_usd: 0, by_model: [] };
  let sent = 0;
  const callModel: TransformContext['callModel'] = async (name, inputs, version) => {
    if (Date.now() >= context.deadline) throw new ServingError('request_timeout', `step "${stepId}" reached the task's deadline`);
    const { result, served, costUsd } = await stepModelCall(name, version, [...inputs], `${context.taskId}.${stepId}.${sent++}`, context);
    usage.requests += 1;
    const share = result.timings.batchRows > 0 ? served.request.rows / result.timings.batchRows : 1;
    usage.compute_ms += result.timings.computeMs * share;
    usage.cost_usd += costUsd;
    let entry = usage.by_model.find((candidate) => candidate.model === result.model && candidate.version === result.version);
    if (!entry) {
      entry = { model: result.model, version: result.version, requests: 0, cost_usd: 0 };
      usage.by_model.push(entry);
    }
    entry.requests += 1;
    entry.cost_usd += costUsd;
    return new Map<string, Tensor>(result.outputs.map((tensor) => [tensor.name, tensor]));
  };
  const signal = context.signal ? { signal: context.signal } : {};
  return { context: { callModel, deadline: context.deadline, ...signal, untilRunEnds }, usage };
}
