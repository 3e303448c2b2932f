import { randomUUID } from 'node:crypto';
import { ServingError } from '../../workers/protocol/errors.js';
import { periodId, toPico } from '../budget/budget-store.js';
import type { ServingBackend } from '../serving-backend.js';
import { estimateTaskCostUsd } from '../pipelines/estimate-task-cost.js';
import type { PipelineConfig } from '../pipelines/pipeline-config.js';
import type { TransformCatalog } from '../pipelines/transforms/catalog.js';
import { estimateCallUsd } from '../routing/plan-inference.js';
import { taskExplainUsd } from '../explain/explain-budget.js';
import type { Tenant } from '../policy/policy-config.js';
import type { PolicyServices } from '../wiring/policy-services.js';
import type { CallbackGuard } from './callback-guard.js';
import type { CallbackSender } from './callback-sender.js';
import type { TaskBody } from './read-task-body.js';
import type { TaskAdmission } from './task-admission.js';
import type { TaskDispatcher } from './task-dispatcher.js';
import type { TaskExecutor } from './task-executor.js';
import { isPastCancel, type TaskRecord } from './task-record.js';
import { tenantPriority } from '../limits/tenant-priority.js';
import type { TaskStore } from './task-store.js';
import type { ReviewItem } from '../review/review-item.js';

export interface TaskServiceOptions {
  readonly pipelines: ReadonlyMap<string, PipelineConfig>;
  readonly store: TaskStore;
  readonly executor: TaskExecutor;
  readonly dispatcher: TaskDispatcher;
  readonly callbacks: CallbackSender;
  readonly services: PolicyServices;
  readonly backend: ServingBackend;
  readonly transforms: TransformCatalog;
  readonly callbackSecret: (tenant: string) => string | undefined;
  readonly callbackGuard: CallbackGuard;
  /** Task batches: most items per batch, and the places this gateway has for them. */
  readonly batch: { readonly maxItems: number; readonly admission: TaskAdmission };
}

/** Longest a DELETE waits for its task to wind down before answering with the task as it stands. */
const CANCEL_WAIT_MS = 10_000;

/** Creating, running and finding tasks; the HTTP layer adds authentication and idempotency. */
export class TaskService {
  readonly #options: TaskServiceOptions;

  constructor(options: TaskServiceOptions) {
    this.#options = options;
  }

  pipeline(name: string): PipelineConfig {
    const pipeline = this.#options.pipelines.get(name);
    if (!pipeline)
      throw new ServingError(
        'pipeline_not_found',
        `unknown pipeline "${name}" (pipelines: ${[...this.#options.pipelines.keys()].join(', ') || 'none'})`,
      );
    return pipeline;
  }

  pipelines(): PipelineConfig[] {
    return [...this.#options.pipelines.values()];
  }

  /** Records a new task and reserves its estimated cost from the tenant's budget (429 when it cannot). */
  async create(
    tenant: Tenant,
    pipeline: PipelineConfig,
    body: TaskBody,
    mode: 'sync' | 'async',
    traceparent?: string,
  ): Promise<TaskRecord> {
    if (body.options.callbackUrl !== undefined && !this.#options.callbackSecret(tenant.name)) {
      throw new ServingError(
        'invalid_parameter',
        `tenant "${tenant.name}" has no callback secret to sign callbacks with (callback_secret in SWITCHYARD_CONFIG, or CALLBACK_SECRET with no tenants)`,
      );
    }
    if (body.options.callbackUrl !== undefined) await this.#options.callbackGuard.vet(tenant.name, body.options.callbackUrl);
    const id = randomUUID();
    const now = Date.now();
    const record: TaskRecord = {
      id,
      pipeline: pipeline.name,
      tenant: tenant.name,
      mode,
      status: 'queued',
      created_at: new Date(now).toISOString(),
      deadline: now + (body.options.timeoutMs ?? pipeline.default_timeout_ms),
      priority: tenantPriority(tenant, body.options.priority),
      ...(traceparent !== undefined ? { traceparent } : {}),
      runs: 0,
      ...(body.options.callbackUrl !== undefined
        ? { callback: { url: body.options.callbackUrl, state: 'pending' as const, attempts: [] } }
        : {}),
      ...(body.options.review ? { review: { requested: true as const } } : {}),
      ...(body.options.explain ? { explain: true as const } : {}),
    };
    const budget = tenant.budget;
    if (budget) {
      const period = periodId(budget.period);
      const { backend, services, transforms } = this.#options;
      const price = (name: string, version?: string): number => estimateCallUsd(backend, services.policy.routes, name, version);
      // With "explain": true, each model step's request also reserves its explanation's rows.
      const definition = (model: string) => backend.definition(model)?.config;
      const explained = (name: string, version?: string): number =>
        price(name, version) + taskExplainUsd(definition, services.policy.routes, name, version);
      const estimatePico = toPico(estimateTaskCostUsd(pipeline, body.inputs, transforms, price, body.options.explain ? explained : price));
      if (!(await this.#options.services.budgets.reserve(tenant.name, period, toPico(budget.usd), estimatePico))) {
        throw new ServingError(
          'budget_exceeded',
          `the ${budget.period} budget of ${budget.usd} USD for tenant "${tenant.name}" cannot cover this task${body.options.explain ? ' and its explanations' : ''}`,
        );
      }
      record.reservation = { period, estimatePico };
    }
    await this.#options.store.put(record);
    await this.#options.store.appendEvent(id, 'task-queued', { pipeline: pipeline.name, mode });
    return record;
  }

  /**
   * Runs the task here and now; its callback (if any) goes to the callback sender, which
   * delivers it afterwards, in the background. `callerLeft` aborts when the synchronous caller goes away: the task is cancelled with it.
   */
  async runNow(record: TaskRecord, inputs: Record<string, unknown>, callerLeft?: AbortSignal): Promise<TaskRecord> {
    const onLeft = (): void => void this.#requestCancel(record.id).catch(() => undefined);
    callerLeft?.addEventListener('abort', onLeft, { once: true });
    try {
      const { record: finished, callback } = await this.#options.executor.run(record.id, inputs);
      void callback.catch(() => undefined);
      return finished;
    } finally {
      callerLeft?.removeEventListener('abort', onLeft);
    }
  }

  /**
   * DELETE /v1/tasks/{id}: a task not started never runs, a running one stops (its model calls
   * leave their queues); either way it ends `cancelled`, its callback says so, and it is charged
   * only for the calls that answered. Answered with the task once it has ended (at most
   * CANCEL_WAIT_MS; a task still winding down is answered as it stands). 404 for others'
   * tasks, 409 task_finished for a task that has already ended.
   */
  async cancel(id: string, tenant: Tenant): Promise<TaskRecord> {
    await this.get(id, tenant);
    const outcome = await this.#requestCancel(id);
    if (outcome === 'missing') throw new ServingError('task_not_found', `no task "${id}"`);
    if (outcome === 'finished') {
      const record = await this.#options.store.get(id);
      throw new ServingError('task_finished', `task "${id}" has already ended (${record?.status ?? 'expired'}): nothing to cancel`);
    }
    const until = Date.now() + CANCEL_WAIT_MS;
    for (;;) {
      const record = await this.#options.store.get(id);
      if (!record || record.status === 'cancelled' || isPastCancel(record.status) || Date.now() >= until)
        return record ?? (await this.get(id, tenant));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async #requestCancel(id: string): Promise<'requested' | 'finished' | 'missing'> {
    const outcome = await this.#options.store.requestCancel(id);
    if (outcome !== 'requested') return outcome;
    if (await this.#options.dispatcher.withdraw(id)) {
      const { callback } = await this.#options.executor.cancelQueued(id);
      void callback.catch(() => undefined);
    } else this.#options.executor.abort(id);
    return outcome;
  }

  async enqueue(record: TaskRecord, inputs: Record<string, unknown>): Promise<void> {
    await this.#options.dispatcher.submit(record.id, inputs);
  }

  /** A task its tenant (or an admin) may see; 404 otherwise, so ids of others' tasks reveal nothing. */
  async get(id: string, tenant: Tenant): Promise<TaskRecord> {
    const record = await this.#options.store.get(id);
    if (!record || (record.tenant !== tenant.name && tenant.role !== 'admin')) throw new ServingError('task_not_found', `no task "${id}"`);
    return record;
  }

  /** A task's review was resolved: the task succeeds, and its held callback goes out (in the background). */
  async completeReview(item: ReviewItem): Promise<void> {
    const { callback } = await this.#options.executor.completeReview(item);
    void callback.catch(() => undefined);
  }

  get batch(): TaskServiceOptions['batch'] {
    return this.#options.batch;
  }

  get store(): TaskStore {
    return this.#options.store;
  }

  /** Tasks running finish first (their callbacks go to the sender), then the sender's attempts in flight. */
  async close(): Promise<void> {
    await this.#options.dispatcher.close();
    await this.#options.callbacks.close();
  }
}
