import type { InferResult } from '../../workers/protocol/inference.js';
import { requestCost } from '../metadata/request-cost.js';
import { resolveModel } from '../routing/resolve-model.js';
import { validateRequest } from '../routing/validate-request.js';
import type { ServingBackend } from '../serving-backend.js';
import type { ModelStep } from './pipeline-config.js';
import { inferForStep } from './step-inference.js';
import { asList, asModelInput } from './step-values.js';
import { TransformInputError } from './transforms/transform.js';

export interface ModelStepMetadata {
  readonly kind: 'model';
  readonly model: string;
  readonly version: string;
  readonly requests: number;
  /** Longest queue time of the step's requests. */
  readonly queue_ms: number;
  /** Summed compute share of the step's requests (their rows over their batches' rows). */
  readonly compute_ms: number;
  readonly cost_usd: number;
}

export interface StepRequestContext {
  readonly backend: ServingBackend;
  readonly taskId: string;
  readonly deadline: number;
  readonly priority: number;
  /** The task's trace, so its model requests (and worker logs) join it. */
  readonly traceparent?: string;
  /** Asynchronous tasks: wait out "not now" refusals until the deadline (see step-inference.ts). */
  readonly waitForCapacity?: boolean;
}

/**
 * Runs a model step through the serving backend, as ordinary requests: in embedded mode
 * they reach the model's batcher, in distributed mode its queue, so a pipeline's
 * requests batch with everything else sent to that model.
 */
export async function runModelStep(
  step: ModelStep,
  values: ReadonlyMap<string, unknown>,
  context: StepRequestContext,
): Promise<{ outputs: Record<string, unknown>; metadata: ModelStepMetadata }> {
  const model = resolveModel(context.backend, step.model, step.version);
  const where = `step "${step.id}"`;
  const ports = Object.entries(step.inputs);
  let count = 1;
  if (step.map) {
    const lengths = new Set(ports.map(([port, value]) => asList(port, values.get(value), where).length));
    if (lengths.size > 1) throw new TransformInputError(`${where}: the lists it maps over differ in length`);
    count = [...lengths][0] ?? 0;
  }
  const now = Date.now();
  const requests = Array.from({ length: count }, (_, index) => {
      const inputs = ports.map(([port, value]) => {
        const raw = values.get(value);
        return asModelInput(port, step.map ? (raw as unknown[])[index] : raw, where);
      });
      const request = validateRequest(
        { inputs, outputs: [], binaryByDefault: false, priority: context.priority, timeoutMs: Math.max(1, context.deadline - now) },
        model,
        { requestId: `${context.taskId}.${step.id}${step.map ? `.${index}` : ''}`, now, ...(context.traceparent !== undefined ? { traceparent: context.traceparent } : {}) },
      );
      return request;
  });
  const results: InferResult[] = await Promise.all(requests.map((request) => inferForStep(context, request)));

  const outputs: Record<string, unknown> = {};
  for (const [port, value] of Object.entries(step.outputs)) {
    const pick = (result: InferResult): unknown => result.outputs.find((tensor) => tensor.name === port);
    outputs[value] = step.map ? results.map(pick) : pick(results[0]!);
  }
  const price = model.definition.config.price;
  let computeMs = 0;
  let costUsd = 0;
  let queueMs = 0;
  results.forEach((result, index) => {
    const rows = requests[index]!.rows;
    const share = result.timings.batchRows > 0 ? rows / result.timings.batchRows : 1;
    computeMs += result.timings.computeMs * share;
    costUsd += requestCost(price, result.timings, rows);
    queueMs = Math.max(queueMs, result.timings.queueMs);
  });
  return {
    outputs,
    metadata: { kind: 'model', model: model.definition.name, version: results[0]?.version ?? model.version, requests: count, queue_ms: queueMs, compute_ms: computeMs, cost_usd: costUsd },
  };
}
