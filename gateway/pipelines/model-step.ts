import { ServingError } from '../../workers/protocol/errors.js';
import type { Tensor } from '../../workers/protocol/tensor.js';
import { callModel, type ModelCallPayer, type ModelCallServices, type PlanOutcome } from '../routing/model-call.js';
import type { ModelStep } from './pipeline-config.js';
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
  /** With a task's `"explain": true`: one per request of a step that classifies images. */
  readonly explanations?: readonly unknown[];
}

/** Explains one answered request of a step (the task's hook, gateway/explain/explain-step.ts); undefined when it does not apply. */
export type ExplainStep = (outcome: PlanOutcome, inputs: readonly Tensor[], requestId: string) => Promise<unknown>;

export interface StepRequestContext {
  /** Routes, breakers and the spend ledger: the same path as the infer route's calls. */
  readonly calls: ModelCallServices;
  /** The task's tenant, its budget, and whether its calls wait for capacity. */
  readonly payer: ModelCallPayer;
  /** The tenant's plan, for routes that choose a tier by plan. */
  readonly plan: string;
  readonly taskId: string;
  readonly deadline: number;
  readonly priority: number;
  /** The task's trace, so its model requests (and worker logs) join it. */
  readonly traceparent?: string;
  /** Once aborted (the run failed or was stopped), no further model call is sent. */
  readonly signal?: AbortSignal;
  /** The calls in flight, for the run to wait on when it fails (each answers by the deadline). */
  readonly inFlight?: Set<Promise<unknown>>;
  /** Set when the task asked for explanations. */
  readonly explainStep?: ExplainStep;
}

/** One model request of a step (or of a transform), by model or route name, through the one model-call function. */
export function stepModelCall(
  name: string,
  version: string | undefined,
  inputs: readonly Tensor[],
  requestId: string,
  context: StepRequestContext,
): Promise<PlanOutcome> {
  if (context.signal?.aborted) {
    const reason: unknown = context.signal.reason;
    return Promise.reject(
      reason instanceof ServingError
        ? reason
        : new ServingError('request_timeout', `request ${requestId} was not sent: its task has ended`),
    );
  }
  const now = Date.now();
  const call = callModel(
    name,
    version,
    { inputs, outputs: [], binaryByDefault: false, priority: context.priority, timeoutMs: Math.max(1, context.deadline - now) },
    {
      requestId,
      now,
      plan: context.plan,
      random: Math.random,
      ...(context.traceparent !== undefined ? { traceparent: context.traceparent } : {}),
    },
    context.calls,
    context.payer,
  );
  const inFlight = context.inFlight;
  if (inFlight) {
    inFlight.add(call);
    void call.then(
      () => inFlight.delete(call),
      () => inFlight.delete(call),
    );
  }
  return call;
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
  const where = `step "${step.id}"`;
  const ports = Object.entries(step.inputs);
  let count = 1;
  if (step.map) {
    const lengths = new Set(ports.map(([port, value]) => asList(port, values.get(value), where).length));
    if (lengths.size > 1) throw new TransformInputError(`${where}: the lists it maps over differ in length`);
    count = [...lengths][0] ?? 0;
  }
  const sent: { inputs: readonly Tensor[]; requestId: string }[] = [];
  const calls = Array.from({ length: count }, (_, index) => {
    const inputs = ports.map(([port, value]) => {
      const raw = values.get(value);
      return asModelInput(port, step.map ? (raw as unknown[])[index] : raw, where);
    });
    const requestId = `${context.taskId}.${step.id}${step.map ? `.${index}` : ''}`;
    // The call takes its inputs' buffers; an explanation needs its own copy.
    if (context.explainStep) sent.push({ inputs: inputs.map((tensor) => ({ ...tensor, data: tensor.data.slice() })), requestId });
    return stepModelCall(step.model, step.version, inputs, requestId, context);
  });
  const outcomes = await Promise.all(calls);
  const explainStep = context.explainStep;
  const explanations = explainStep
    ? await Promise.all(outcomes.map((outcome, index) => explainStep(outcome, sent[index]!.inputs, sent[index]!.requestId)))
    : [];

  const outputs: Record<string, unknown> = {};
  for (const [port, value] of Object.entries(step.outputs)) {
    const pick = (outcome: PlanOutcome): unknown => outcome.result.outputs.find((tensor) => tensor.name === port);
    outputs[value] = step.map ? outcomes.map(pick) : pick(outcomes[0]!);
  }
  let computeMs = 0;
  let costUsd = 0;
  let queueMs = 0;
  for (const { result, served, costUsd: cost } of outcomes) {
    const share = result.timings.batchRows > 0 ? served.request.rows / result.timings.batchRows : 1;
    computeMs += result.timings.computeMs * share;
    costUsd += cost;
    queueMs = Math.max(queueMs, result.timings.queueMs);
  }
  const first = outcomes[0]?.result;
  return {
    outputs,
    metadata: {
      kind: 'model',
      model: first?.model ?? step.model,
      version: first?.version ?? step.version ?? '',
      requests: count,
      queue_ms: queueMs,
      compute_ms: computeMs,
      cost_usd: costUsd,
      ...(explanations.some((explanation) => explanation !== undefined) ? { explanations } : {}),
    },
  };
}
