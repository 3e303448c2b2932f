import { setMaxListeners } from 'node:events';
import { isServingError, ServingError } from '../../workers/protocol/errors.js';
import { isModelStep, type PipelineConfig, type PipelineStep } from './pipeline-config.js';
import { runModelStep, type ModelStepMetadata, type StepRequestContext } from './model-step.js';
import { transformContext, type TransformModelUsage } from './transform-model-calls.js';
import type { TransformCatalog } from './transforms/catalog.js';
import { TransformInputError } from './transforms/transform.js';
import { traceTaskPart } from '../tracing/task-spans.js';

export interface TransformStepMetadata {
  readonly kind: 'transform';
  readonly transform: string;
  readonly duration_ms: number;
  /** Only for transforms that call a model themselves (a loop over a recurrent model). */
  readonly model_requests?: TransformModelUsage;
}

export type StepMetadata = (ModelStepMetadata | TransformStepMetadata) & { readonly step: string };

export type StepEvent =
  | { readonly type: 'step-started'; readonly step: string }
  | { readonly type: 'step-finished'; readonly step: string; readonly metadata: StepMetadata }
  | { readonly type: 'step-failed'; readonly step: string; readonly code: string; readonly message: string };

export interface PipelineRunContext extends StepRequestContext {
  readonly transforms: TransformCatalog;
  /** Step id -> options laid over that transform step's own (a tenant's policy overrides). */
  readonly stepOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly onEvent: (event: StepEvent) => void;
  /** What transforms hold until the run ends (set by runPipeline). */
  readonly untilRunEnds?: (release: () => void) => void;
}

export interface PipelineRunResult {
  /** Values named by the pipeline's outputs. */
  readonly outputs: Record<string, unknown>;
  /** In the order the steps finished. */
  readonly steps: readonly StepMetadata[];
  readonly costUsd: number;
}

/** A step failed; the task fails with the step named and the cause's code kept. */
export class StepFailedError extends ServingError {
  readonly step: string;

  constructor(step: string, cause: unknown) {
    const message = (cause as Error).message ?? String(cause);
    const code = isServingError(cause) ? cause.code : cause instanceof TransformInputError ? 'invalid_request' : 'step_failed';
    super(code, `step "${step}" failed: ${message}`);
    this.step = step;
  }
}

/**
 * Runs the steps as a graph: each starts once every value it reads exists, so steps that
 * do not depend on each other run at once. The first failure ends the run; the deadline
 * bounds it, so no task hangs on a step that never answers.
 */
export async function runPipeline(
  pipeline: PipelineConfig,
  inputs: Readonly<Record<string, unknown>>,
  context: PipelineRunContext,
): Promise<PipelineRunResult> {
  const values = new Map<string, unknown>(Object.entries(inputs));
  const waiting = new Set<PipelineStep>(pipeline.steps);
  const running = new Map<string, Promise<string>>();
  const finished: StepMetadata[] = [];
  // Ends the model calls of steps still running once the run has failed (or the caller stops it).
  const stop = new AbortController();
  const inFlight = new Set<Promise<unknown>>();
  const releases: (() => void)[] = [];
  // A step still running when the run ended (it failed or timed out) gives its hold back at once.
  let ended = false;
  const signal = context.signal ? AbortSignal.any([context.signal, stop.signal]) : stop.signal;
  // A mapped step over a page's lines has a model call (and its abort listener) per line.
  setMaxListeners(0, signal);
  const stepContext: PipelineRunContext = {
    ...context,
    signal,
    inFlight,
    untilRunEnds: (release) => (ended ? release() : void releases.push(release)),
  };
  let timer: NodeJS.Timeout | undefined;
  // The caller's stop (a cancelled task) ends the run at once: no further step starts.
  const stopped = new Promise<never>((_, reject) => {
    const caller = context.signal;
    if (caller)
      caller.addEventListener(
        'abort',
        () => reject(caller.reason instanceof Error ? caller.reason : new ServingError('task_cancelled', 'the run was stopped')),
        { once: true },
      );
  });
  stopped.catch(() => undefined);
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        const active = [...running.keys()].join(', ') || 'none';
        reject(
          new ServingError('request_timeout', `pipeline "${pipeline.name}" did not finish before its deadline (running steps: ${active})`),
        );
      },
      Math.max(0, context.deadline - Date.now()),
    );
  });
  try {
    while (waiting.size > 0 || running.size > 0) {
      for (const step of [...waiting]) {
        if (!Object.values(step.inputs).every((value) => values.has(value))) continue;
        waiting.delete(step);
        const started = startStep(step, values, stepContext, finished);
        // Once one step has failed, the others' later failures are of no interest.
        started.catch(() => undefined);
        running.set(step.id, started);
      }
      // The config check rules out unproducible values, so something is always running here.
      const done = await Promise.race([...running.values(), timeout, stopped]);
      running.delete(done);
    }
  } catch (error) {
    // The steps still running send no further model calls; the run ends once the calls
    // already sent have answered and been charged (each is bounded by the deadline), so
    // the task's cost counts them all.
    stop.abort();
    await settled(inFlight);
    throw error;
  } finally {
    clearTimeout(timer);
    ended = true;
    for (const release of releases.splice(0)) release();
  }
  const outputs: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(pipeline.outputs)) outputs[field] = values.get(value);
  const costUsd = finished.reduce((sum, step) => sum + (step.kind === 'model' ? step.cost_usd : (step.model_requests?.cost_usd ?? 0)), 0);
  return { outputs, steps: finished, costUsd };
}

/** Waits for the calls in flight, at most CALLS_GRACE_MS: a backend that never answers must not hold the task. */
async function settled(calls: ReadonlySet<Promise<unknown>>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CALLS_GRACE_MS)));
  await Promise.race([Promise.allSettled([...calls]), grace]);
  clearTimeout(timer);
}

const CALLS_GRACE_MS = 5_000;

/** Outside a run (no one to release at its end) a transform's hold is given back at once. */
const noHold = (release: () => void): void => release();

/** One step, as a span of the task's trace when tracing is on. */
function startStep(
  step: PipelineStep,
  values: Map<string, unknown>,
  context: PipelineRunContext,
  finished: StepMetadata[],
): Promise<string> {
  const attributes = { 'switchyard.step': step.id, 'switchyard.step_kind': isModelStep(step) ? 'model' : 'transform' };
  return traceTaskPart(context.traceparent, `step ${step.id}`, attributes, (traceparent) =>
    runStep(step, values, traceparent === context.traceparent ? context : { ...context, traceparent }, finished),
  );
}

async function runStep(
  step: PipelineStep,
  values: Map<string, unknown>,
  context: PipelineRunContext,
  finished: StepMetadata[],
): Promise<string> {
  context.onEvent({ type: 'step-started', step: step.id });
  const started = performance.now();
  try {
    let produced: Record<string, unknown>;
    let metadata: StepMetadata;
    if (isModelStep(step)) {
      const outcome = await runModelStep(step, values, context);
      produced = outcome.outputs;
      metadata = { step: step.id, ...outcome.metadata };
    } else {
      const transform = context.transforms.get(step.transform);
      const portValues: Record<string, unknown> = {};
      for (const [port, value] of Object.entries(step.inputs)) portValues[port] = values.get(value);
      const calls = transformContext(step.id, context, context.untilRunEnds ?? noHold);
      const result = await transform.run(portValues, { ...step.options, ...context.stepOptions?.[step.id] }, calls.context);
      produced = {};
      for (const [port, value] of Object.entries(step.outputs)) {
        if (!(port in result)) throw new Error(`transform "${step.transform}" returned no "${port}"`);
        produced[value] = result[port];
      }
      metadata = {
        step: step.id,
        kind: 'transform',
        transform: step.transform,
        duration_ms: performance.now() - started,
        ...(calls.usage.requests > 0 ? { model_requests: calls.usage } : {}),
      };
    }
    for (const [value, data] of Object.entries(produced)) values.set(value, data);
    finished.push(metadata);
    context.onEvent({ type: 'step-finished', step: step.id, metadata });
    return step.id;
  } catch (error) {
    const failure = new StepFailedError(step.id, error);
    context.onEvent({ type: 'step-failed', step: step.id, code: failure.code, message: failure.message });
    throw failure;
  }
}
