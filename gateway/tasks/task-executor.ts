import type { Logger } from 'pino';
import { isServingError, ServingError } from '../../workers/protocol/errors.js';
import { BudgetAccount, budgetLimit } from '../budget/budget-account.js';
import type { PipelineConfig } from '../pipelines/pipeline-config.js';
import { runPipeline, StepFailedError, type StepEvent } from '../pipelines/run-pipeline.js';
import type { TransformCatalog } from '../pipelines/transforms/catalog.js';
import type { ModelCallPayer } from '../routing/model-call.js';
import { modelCallServices, type PolicyServices } from '../wiring/policy-services.js';
import type { ServingBackend } from '../serving-backend.js';
import { traceTaskPart } from '../tracing/task-spans.js';
import type { CallbackSender } from './callback-sender.js';
import { isPastCancel, type TaskRecord } from './task-record.js';
import type { TaskStore } from './task-store.js';
import type { ReviewItem } from '../review/review-item.js';
import { fileTaskForReview } from './review-on-task.js';
import { taskExplainStep } from '../explain/explain-step.js';

export interface TaskExecutorOptions {
  readonly store: TaskStore;
  readonly pipelines: ReadonlyMap<string, PipelineConfig>;
  readonly backend: ServingBackend;
  readonly transforms: TransformCatalog;
  readonly services: PolicyServices;
  /** Delivers callbacks outside the task's run (and its slot). */
  readonly callbacks: CallbackSender;
  readonly logger: Logger;
}

/** How often a running task looks for a cancel requested on another gateway (this one's DELETE aborts it at once). */
const CANCEL_POLL_MS = 250;

const cancelledError = (): ServingError =>
  new ServingError('task_cancelled', 'the task was cancelled (DELETE /v1/tasks/{id}, or its synchronous caller left) before it finished');

/** Renders pipeline values for JSON: tensors become {datatype, shape, data}. */
function plain(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, plain(entry)]));
  return typeof value === 'bigint' ? Number(value) : value;
}

/** A pipeline's only input when it is media (bytes), which a reviewer wants to see as sent. */
function singleMedia(inputs: Record<string, unknown>): Uint8Array | undefined {
  const values = Object.values(inputs);
  return values.length === 1 && values[0] instanceof Uint8Array ? values[0] : undefined;
}

/** The pipeline's `review_when` matches this result. */
function reviewCalledFor(pipeline: PipelineConfig, outputs: Record<string, unknown>): boolean {
  const when = pipeline.review_when;
  return when?.equals.some((value) => value === outputs[when.output]) === true;
}

/**
 * Runs one task to its end: the pipeline, then the budget settlement and spend ledger,
 * then the callback. Every change is written to the store before the next begins, so a
 * reader (or a gateway taking over after a crash) sees where the task is.
 */
export class TaskExecutor {
  readonly #options: TaskExecutorOptions;
  /** Tasks running here, to stop at once when cancelled here. */
  readonly #running = new Map<string, AbortController>();

  constructor(options: TaskExecutorOptions) {
    this.#options = options;
  }

  /** Resolves when the pipeline is done; `callback` once the callback sender holds its delivery. */
  async run(id: string, inputs: Record<string, unknown>): Promise<{ record: TaskRecord; callback: Promise<void> }> {
    const { store, services, logger } = this.#options;
    const record = await store.get(id);
    if (!record) throw new Error(`task ${id} is not in the store`);
    // A task waiting for review has run: a redelivered job must not run it again.
    if (isPastCancel(record.status)) return { record, callback: this.#callback(record) };
    // Cancelled while queued: no step runs, the reservation goes back.
    if (await store.cancelRequested(id)) return this.cancelQueued(id);
    const pipeline = this.#options.pipelines.get(record.pipeline);
    const stop = new AbortController();
    this.#running.set(id, stop);
    const poll = setInterval(() => {
      store.cancelRequested(id).then(
        (requested) => requested && stop.abort(cancelledError()),
        () => undefined,
      );
    }, CANCEL_POLL_MS);
    const payer = { ...this.#payer(record), signal: stop.signal };
    record.status = 'running';
    record.runs += 1;
    record.started_at = new Date().toISOString();
    await store.put(record);
    await store.appendEvent(id, 'task-started', { run: record.runs });

    // Events are written in the order they happen, without holding up the steps.
    let events = Promise.resolve();
    const onEvent = (event: StepEvent): void => {
      const { type, ...data } = event;
      events = events
        .then(() => store.appendEvent(id, type, data))
        .catch((error: unknown) => logger.warn({ err: error, task: id }, 'task event write failed'));
    };
    try {
      if (!pipeline) throw new Error(`pipeline "${record.pipeline}" is no longer loaded`);
      // Its turn came too late: no step runs, and the error says where the time went.
      if (Date.now() >= record.deadline)
        throw new ServingError(
          'request_timeout',
          'the task reached its deadline before it started, waiting for a free task slot (TASK_CONCURRENCY)',
        );
      const calls = modelCallServices(services, this.#options.backend, (error) => logger.error({ err: error }, 'ledger write failed'));
      const plan = services.policy.tenants.find((tenant) => tenant.name === record.tenant)?.plan ?? 'default';
      const attributes = {
        'switchyard.task_id': id,
        'switchyard.pipeline': pipeline.name,
        'switchyard.tenant': record.tenant,
        'switchyard.task_run': record.runs,
      };
      const outcome = await traceTaskPart(record.traceparent, `task ${pipeline.name}`, attributes, (traceparent) =>
        runPipeline(pipeline, inputs, {
          calls,
          payer,
          plan,
          transforms: this.#options.transforms,
          taskId: id,
          deadline: record.deadline,
          priority: record.priority,
          stepOptions: services.policy.tenants.find((tenant) => tenant.name === record.tenant)?.pipeline_options?.[pipeline.name] ?? {},
          ...(traceparent !== undefined ? { traceparent } : {}),
          signal: stop.signal,
          ...(record.explain
            ? {
                explainStep: taskExplainStep({
                  services: calls,
                  payer,
                  plan,
                  priority: record.priority,
                  deadline: record.deadline,
                  ...(traceparent !== undefined ? { traceparent } : {}),
                }),
              }
            : {}),
          onEvent,
        }),
      );
      record.status = 'succeeded';
      record.result = { outputs: plain(outcome.outputs) as Record<string, unknown>, steps: outcome.steps, cost_usd: outcome.costUsd };
      if (!record.review && reviewCalledFor(pipeline, record.result.outputs)) record.review = { requested: false };
      if (record.review) {
        const reason = record.review.requested ? 'requested' : 'pipeline_decision';
        record.review.id = await fileTaskForReview(record, singleMedia(inputs) ?? plain(inputs), services.reviews, services.policy, reason);
        record.review.status = 'pending_review';
        record.status = 'needs_review';
      }
    } catch (error) {
      record.status = stop.signal.aborted ? 'cancelled' : 'failed';
      const code = stop.signal.aborted ? 'task_cancelled' : isServingError(error) ? error.code : 'internal_error';
      record.error = {
        code,
        message: code === 'internal_error' ? 'internal error' : (error as Error).message,
        ...(error instanceof StepFailedError ? { step: error.step } : {}),
      };
      if (code === 'internal_error') logger.error({ err: error, task: id }, 'task failed');
    }
    clearInterval(poll);
    this.#running.delete(id);
    // Every call that ran was charged as it answered; what the up-front reservation did not use goes back.
    await payer.budget
      ?.close()
      .catch((error: unknown) => logger.error({ err: error, task: id }, 'releasing the rest of the task reservation failed'));
    record.cost_usd = payer.tally.usd;
    record.finished_at = new Date().toISOString();
    await events;
    // A cancel requested before this write wins, even over a run that succeeded: its DELETE was answered "cancelled".
    if (!(await store.finish(record))) {
      markCancelled(record);
      if (!(await store.settleCancelled(record))) return { record: (await store.get(id)) ?? record, callback: Promise.resolve() };
    }
    const final =
      record.status === 'needs_review'
        ? 'task-needs-review'
        : record.status === 'succeeded'
          ? 'task-succeeded'
          : record.status === 'cancelled'
            ? 'task-cancelled'
            : 'task-failed';
    const review = record.review ? { review: record.review } : {};
    const summary = record.error ? { error: record.error, cost_usd: record.cost_usd } : { cost_usd: record.result?.cost_usd, ...review };
    await store.appendEvent(id, final, summary);
    return { record, callback: this.#callback(record) };
  }

  /** Stops a task running in this process now (its DELETE came here); elsewhere, its executor's poll sees the mark. */
  abort(id: string): void {
    this.#running.get(id)?.abort(cancelledError());
  }

  /**
   * Ends a task that was cancelled before it started: taken out of its queue, or found
   * marked when its turn came. Nothing ran, so nothing is charged and its reservation goes back.
   */
  async cancelQueued(id: string): Promise<{ record: TaskRecord; callback: Promise<void> }> {
    const { store, logger } = this.#options;
    const record = await store.get(id);
    if (!record) throw new Error(`task ${id} is not in the store`);
    if (isPastCancel(record.status)) return { record, callback: Promise.resolve() };
    // Taken off the record before it is written, so only the winner below gives it back.
    const payer = this.#payer(record);
    markCancelled(record);
    record.cost_usd = 0;
    record.finished_at = new Date().toISOString();
    // Two DELETEs (or a DELETE and the task's turn coming) may both get here: one ends it.
    if (!(await store.settleCancelled(record))) return { record: (await store.get(id)) ?? record, callback: Promise.resolve() };
    await payer.budget?.close().catch((error: unknown) => logger.error({ err: error, task: id }, 'releasing the task reservation failed'));
    await store.appendEvent(id, 'task-cancelled', { error: record.error, cost_usd: 0 });
    return { record, callback: this.#callback(record) };
  }

  /** The task's review item was resolved: the task succeeds with the verdict, and its held callback goes out. */
  async completeReview(item: ReviewItem): Promise<{ callback: Promise<void> }> {
    const { store } = this.#options;
    const record = item.task_id !== undefined ? await store.get(item.task_id) : undefined;
    if (!record?.review || record.status !== 'needs_review' || item.decision === undefined) return { callback: Promise.resolve() };
    record.status = 'succeeded';
    record.review = {
      ...record.review,
      status: item.decision,
      ...(item.resolved_by !== undefined ? { resolved_by: item.resolved_by } : {}),
      ...(item.resolved_at !== undefined ? { resolved_at: item.resolved_at } : {}),
      ...(item.human_output !== undefined ? { human_output: item.human_output } : {}),
    };
    await store.put(record);
    await store.appendEvent(record.id, 'task-succeeded', { cost_usd: record.result?.cost_usd, review: record.review });
    return { callback: this.#callback(record) };
  }

  /**
   * Who pays for the task's model calls. The reservation made at submission becomes the
   * account's pool and leaves the record before any call runs: a run that dies midway
   * leaves the rest reserved until the period ends (never spendable twice; for a `total`
   * budget, for good: docs/pipelines-and-tasks.md says so), and a rerun draws from the
   * budget call by call. Giving it back on takeover would need the pool's balance in Redis
   * rather than in the dead gateway's memory.
   */
  #payer(record: TaskRecord): ModelCallPayer & { tally: { usd: number } } {
    const tenant = this.#options.services.policy.tenants.find((candidate) => candidate.name === record.tenant);
    const reservation = record.reservation;
    delete record.reservation;
    const limit = tenant ? budgetLimit(tenant) : undefined;
    const payer = {
      tenant: record.tenant,
      ...(tenant ? { weight: tenant.weight } : {}),
      tally: { usd: 0 },
      waitForCapacity: record.mode === 'async',
    };
    if (!limit && !reservation) return payer;
    const account = new BudgetAccount(
      this.#options.services.budgets,
      {
        tenant: record.tenant,
        period: reservation?.period ?? limit!.period,
        limitPico: limit?.limitPico ?? 0,
        describe: limit?.describe ?? 'budget',
      },
      reservation?.estimatePico ?? 0,
    );
    return { ...payer, budget: account };
  }

  #callback(record: TaskRecord): Promise<void> {
    return this.#options.callbacks.send(record);
  }
}

/** The task ends cancelled: whatever the run produced is dropped; what it ran stays charged. */
function markCancelled(record: TaskRecord): void {
  record.status = 'cancelled';
  delete record.result;
  delete record.review;
  const error = cancelledError();
  record.error = { code: error.code, message: error.message };
}
