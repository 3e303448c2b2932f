import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ServingError, type ErrorCode } from '../../workers/protocol/errors.js';
import { assertMayCall, mayCall } from '../auth/authorize.js';
import { closeSignal } from '../http/close-signal.js';
import { traceparentOf } from '../http/trace-context.js';
import { idempotencyScope, readIdempotencyKey } from '../idempotency/idempotency-key.js';
import type { StoredResponse } from '../idempotency/idempotency-store.js';
import type { PolicyServices } from '../wiring/policy-services.js';
import { readTaskBody } from '../tasks/read-task-body.js';
import { isFinished, publicTask, type TaskRecord } from '../tasks/task-record.js';
import type { TaskService } from '../tasks/task-service.js';
import { followTaskEvents } from '../tasks/task-event-stream.js';
import type { Lifecycle } from './health.js';
import { postTaskBatch } from './task-batch.js';
import { CREATE_TASK_DOCS, TASK_ROUTES } from '../openapi/task-docs.js';

/** `Prefer: respond-async` (RFC 7240) asks for 202 and a task id instead of waiting. */
function wantsAsync(request: FastifyRequest): boolean {
  const prefer = request.headers.prefer;
  return (Array.isArray(prefer) ? prefer.join(',') : (prefer ?? ''))
    .split(',')
    .some((token) => token.trim().toLowerCase() === 'respond-async');
}

/**
 * The Task API: POST /v1/tasks/:pipeline runs a pipeline (waiting for it, or in the
 * background with Prefer: respond-async), GET /v1/tasks/:id shows a task, and
 * GET /v1/tasks/:id/events streams its progress as server-sent events, DELETE /v1/tasks/:id
 * cancels it. Tasks pass the
 * same policy layer as inferences: key, rate limit, idempotency key, budget. `storeReachable`: false
 * while Redis does not answer (distributed mode), when tasks are refused at once, as calls are
 * (request/admit-call.ts).
 */
export function taskRoutes(
  app: FastifyInstance,
  tasks: TaskService,
  services: PolicyServices,
  lifecycle: Lifecycle,
  storeReachable: () => boolean = () => true,
): void {
  // Whole milliseconds: Redis refuses a fractional PX (1.1 h is 3960000.0000000005 ms in floating point).
  const idempotencyTtlMs = Math.round(services.policy.idempotency.retention_hours * 3_600_000);
  app.post<{ Params: { pipeline: string } }>('/v1/tasks/:pipeline', { config: CREATE_TASK_DOCS }, async (request, reply) => {
    if (lifecycle.phase() === 'draining') throw new ServingError('shutting_down', 'the server is shutting down');
    if (!storeReachable()) throw new ServingError('backend_unavailable', 'Redis does not answer; no task was created');
    // POST /v1/tasks/{pipeline}:batch (one route: the router cannot tell the two apart by pattern).
    if (request.params.pipeline.endsWith(':batch')) {
      return postTaskBatch(
        request,
        reply,
        tasks,
        request.params.pipeline.slice(0, -':batch'.length),
        wantsAsync(request) ? 'async' : 'sync',
      );
    }
    const tenant = assertMayCall(request.tenant, request.params.pipeline);
    const pipeline = tasks.pipeline(request.params.pipeline);
    const audit = { route: pipeline.name } as NonNullable<FastifyRequest['audit']>;
    request.audit = audit;
    const idempotencyKey = readIdempotencyKey(request.headers['idempotency-key']);
    const body = await readTaskBody(request, pipeline);
    const mode = wantsAsync(request) ? 'async' : 'sync';

    let claim: { scope: string; token: string } | undefined;
    if (idempotencyKey !== undefined) {
      audit.idempotencyKey = idempotencyKey;
      // One key, one task: the same key asking the other way (sync, async) is a different request, not a second run.
      const scope = idempotencyScope(tenant.name, `task:${pipeline.name}`, idempotencyKey);
      const fingerprint = `${mode}:${body.fingerprint}`;
      const begun = await services.idempotency.begin(scope, fingerprint, idempotencyTtlMs);
      if (begun.kind === 'replay') {
        audit.replayed = true;
        reply.code(begun.response.status).headers(begun.response.headers).header('idempotent-replayed', 'true');
        return reply.send(Buffer.from(begun.response.body, 'base64'));
      }
      if (begun.kind === 'in-progress')
        throw new ServingError('idempotency_in_progress', 'a request with this Idempotency-Key is still running');
      if (begun.kind === 'mismatch')
        throw new ServingError('idempotency_key_reused', 'this Idempotency-Key was used with a different request (body or mode)');
      claim = { scope, token: begun.token };
    }
    try {
      const record = await tasks.create(tenant, pipeline, body, mode, traceparentOf(request.trace));
      reply.header('x-task-id', record.id).header('location', `/v1/tasks/${record.id}`);
      if (mode === 'async') {
        await tasks.enqueue(record, body.inputs);
        const accepted = JSON.stringify(publicTask(record));
        if (claim) await services.idempotency.complete(claim.scope, claim.token, stored(202, reply, accepted), idempotencyTtlMs);
        return reply.code(202).type('application/json').send(accepted);
      }
      // A synchronous caller that leaves takes its task with it; an asynchronous task outlives its caller.
      const finished = await tasks.runNow(record, body.inputs, closeSignal(reply));
      audit.costUsd = finished.cost_usd ?? 0;
      if (finished.status === 'failed' || finished.status === 'cancelled') {
        const error = finished.error!;
        throw new ServingError(error.code as ErrorCode, error.message);
      }
      const answer = JSON.stringify(publicTask(finished));
      if (claim) await services.idempotency.complete(claim.scope, claim.token, stored(200, reply, answer), idempotencyTtlMs);
      return reply.type('application/json').send(answer);
    } catch (error) {
      if (claim) await services.idempotency.abandon(claim.scope, claim.token).catch(() => undefined);
      throw error;
    }
  });

  app.get<{ Params: { id: string } }>('/v1/tasks/:id', TASK_ROUTES.get, async (request) => {
    const tenant = assertSignedIn(request);
    return publicTask(await tasks.get(request.params.id, tenant));
  });

  // 200 with the task once cancelled (202 while it still winds down); 404 unknown or another tenant's; 409 task_finished.
  app.delete<{ Params: { id: string } }>('/v1/tasks/:id', TASK_ROUTES.cancel, async (request, reply) => {
    const tenant = assertSignedIn(request);
    const record = await tasks.cancel(request.params.id, tenant);
    return reply.code(record.status === 'cancelled' ? 200 : 202).send(publicTask(record));
  });

  app.get<{ Params: { id: string } }>('/v1/tasks/:id/events', TASK_ROUTES.events, async (request, reply) => {
    const tenant = assertSignedIn(request);
    const record: TaskRecord = await tasks.get(request.params.id, tenant);
    const lastEventId = Number(request.headers['last-event-id'] ?? 0);
    await followTaskEvents(
      reply,
      tasks.store,
      record.id,
      Number.isInteger(lastEventId) && lastEventId > 0 ? lastEventId : 0,
      isFinished(record.status),
    );
  });

  // Only the pipelines this key may run, and inside them only the models it may call by name.
  app.get('/v1/pipelines', TASK_ROUTES.pipelines, async (request) => {
    const tenant = assertSignedIn(request);
    return {
      pipelines: tasks
        .pipelines()
        .filter((pipeline) => mayCall(tenant, pipeline.name))
        .map((pipeline) => ({
          name: pipeline.name,
          description: pipeline.description ?? '',
          inputs: pipeline.inputs,
          outputs: Object.keys(pipeline.outputs),
          steps: pipeline.steps.map((step) => ({
            id: step.id,
            ...('model' in step
              ? mayCall(tenant, step.model)
                ? { model: step.model }
                : { kind: 'model' }
              : { transform: step.transform }),
          })),
        })),
    };
  });
}

function assertSignedIn(request: FastifyRequest): NonNullable<FastifyRequest['tenant']> {
  if (!request.tenant) throw new ServingError('unauthorized', 'send Authorization: Bearer <key>');
  return request.tenant;
}

function stored(status: number, reply: FastifyReply, body: string): StoredResponse {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const name of ['x-task-id', 'location']) {
    const value = reply.getHeader(name);
    if (value !== undefined) headers[name] = String(value);
  }
  return { status, headers, body: Buffer.from(body).toString('base64') };
}
