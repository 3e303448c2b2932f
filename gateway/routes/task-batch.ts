import type { FastifyReply, FastifyRequest } from 'fastify';
import { isServingError } from '../../workers/protocol/errors.js';
import { assertMayCall } from '../auth/authorize.js';
import { traceparentOf } from '../http/trace-context.js';
import { readBatchBody } from '../tasks/read-batch-body.js';
import { publicTask, type TaskRecord } from '../tasks/task-record.js';
import type { TaskService } from '../tasks/task-service.js';

type ItemAnswer =
  | { readonly index: number; readonly task: Record<string, unknown> }
  | { readonly index: number; readonly error: { code: string; message: string } };

const errorOf = (error: unknown): { code: string; message: string } =>
  isServingError(error) ? { code: error.code, message: error.message } : { code: 'internal_error', message: 'internal error' };

/**
 * `POST /v1/tasks/{pipeline}:batch`: one task per item, all run at once in this gateway
 * so their model requests batch together (and with all other traffic); each item's
 * priority orders it in the models' queues. The batch is admitted whole or refused whole
 * (503 tasks_busy); an admitted item always gets an answer, a task or its own error
 * (e.g. budget_exceeded). Without Prefer: respond-async the answer waits for every item
 * (moderation's allow and block are final then; a review item is in needs_review);
 * with it, 202 and the task ids at once.
 */
export async function postTaskBatch(
  request: FastifyRequest,
  reply: FastifyReply,
  tasks: TaskService,
  name: string,
  mode: 'sync' | 'async',
): Promise<unknown> {
  const tenant = assertMayCall(request.tenant, name);
  const pipeline = tasks.pipeline(name);
  request.audit = { route: pipeline.name } as NonNullable<FastifyRequest['audit']>;
  const items = readBatchBody(request, pipeline, tasks.batch.maxItems);
  const places = tasks.batch.admission.admit(items.length);
  const traceparent = traceparentOf(request.trace);
  const runs = items.map(
    async (item, index): Promise<{ index: number; record?: TaskRecord; error?: unknown; done: Promise<TaskRecord | undefined> }> => {
      try {
        const record = await tasks.create(tenant, pipeline, { ...item, fingerprint: '' }, mode, traceparent);
        const done = tasks.runNow(record, item.inputs).finally(() => places.release());
        return { index, record, done };
      } catch (error) {
        places.release();
        return { index, error, done: Promise.resolve(undefined) };
      }
    },
  );
  const started = await Promise.all(runs);
  const failures = started.filter((run) => run.error !== undefined);
  if (failures.length === started.length) throw failures[0]!.error;
  if (mode === 'async') {
    for (const run of started) void run.done.catch(() => undefined);
    const answers: ItemAnswer[] = started.map((run) =>
      run.record ? { index: run.index, task: publicTask(run.record) } : { index: run.index, error: errorOf(run.error) },
    );
    return reply.code(202).send({ items: answers });
  }
  const answers = await Promise.all(
    started.map(async (run): Promise<ItemAnswer> => {
      if (!run.record) return { index: run.index, error: errorOf(run.error) };
      try {
        return { index: run.index, task: publicTask((await run.done) ?? run.record) };
      } catch (error) {
        return { index: run.index, error: errorOf(error) };
      }
    }),
  );
  return reply.send({ items: answers });
}
