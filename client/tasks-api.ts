import { SwitchyardError } from './errors.js';
import { send, type CallOptions, type ConnectionOptions } from './http-call.js';
import { readServerSentEvents } from './server-sent-events.js';
import { FINAL_EVENTS, isFinished, type Submitted, type Task, type TaskEvent } from './task-types.js';

export interface SubmitOptions extends CallOptions {
  /** Prefer: respond-async: answer 202 with the queued task at once (default false: wait for it). */
  readonly async?: boolean;
  /** The gateway POSTs the finished task here, signed (see verifyCallbackSignature). */
  readonly callbackUrl?: string;
  /** The task's own deadline on the server (timeout_ms). */
  readonly taskTimeoutMs?: number;
  readonly priority?: number;
  readonly review?: boolean;
}

export interface EventsOptions {
  /** Resume after this event (sent as Last-Event-ID). */
  readonly lastEventId?: number;
  readonly signal?: AbortSignal;
  /** Reopenings in a row that bring no new event before giving up (default 5). */
  readonly reconnects?: number;
}

const taskPath = (id: string): string => `v1/tasks/${encodeURIComponent(id)}`;

async function json<T>(response: Response): Promise<T> {
  const text = await response.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new SwitchyardError(`the gateway's answer is not JSON: ${text.slice(0, 200)}`, {
      status: response.status,
      code: 'invalid_response',
    });
  }
}

/** The Task API: POST /v1/tasks/{pipeline}, GET /v1/tasks/{id}, its event stream, DELETE /v1/tasks/{id}. */
export class TasksApi {
  readonly #connection: ConnectionOptions;

  constructor(connection: ConnectionOptions) {
    this.#connection = connection;
  }

  /** Runs a pipeline; its inputs as the Task API takes them (docs/pipelines-and-tasks.md). A failed sync task throws with its code. */
  async submit(pipeline: string, inputs: Readonly<Record<string, unknown>>, options: SubmitOptions = {}): Promise<Submitted> {
    const body = JSON.stringify({
      inputs,
      ...(options.callbackUrl !== undefined ? { callback_url: options.callbackUrl } : {}),
      ...(options.taskTimeoutMs !== undefined ? { timeout_ms: options.taskTimeoutMs } : {}),
      ...(options.priority !== undefined ? { priority: options.priority } : {}),
      ...(options.review !== undefined ? { review: options.review } : {}),
    });
    const { response, attempts, idempotencyKey } = await send(this.#connection, {
      ...options,
      method: 'POST',
      path: `v1/tasks/${encodeURIComponent(pipeline)}`,
      body,
      keyed: true,
      headers: { 'content-type': 'application/json', ...(options.async ? { prefer: 'respond-async' } : {}), ...options.headers },
    });
    return {
      task: await json<Task>(response),
      replayed: response.headers.get('idempotent-replayed') === 'true',
      attempts,
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    };
  }

  async get(id: string, options: CallOptions = {}): Promise<Task> {
    const { response } = await send(this.#connection, { ...options, method: 'GET', path: taskPath(id) });
    return json<Task>(response);
  }

  /**
   * Cancels a queued or running task: DELETE /v1/tasks/{id}. Resolves with the task, `cancelled`
   * once it has wound down (steps not started never run; it is charged only for the calls that
   * answered). A task that has already ended is a SwitchyardError with status 409 and code
   * `task_finished`; another tenant's or an unknown task, 404 `task_not_found`. An older gateway
   * without the route answers 404 route_not_found (or 405), thrown as a SwitchyardError saying so.
   */
  async cancel(id: string, options: CallOptions = {}): Promise<Task> {
    try {
      const { response } = await send(this.#connection, { ...options, method: 'DELETE', path: taskPath(id) });
      return json<Task>(response);
    } catch (error) {
      if (error instanceof SwitchyardError && (error.code === 'route_not_found' || error.status === 405)) {
        throw new SwitchyardError(`this gateway cannot cancel tasks (DELETE /v1/tasks/{id}): ${error.message}`, error, { cause: error });
      }
      throw error;
    }
  }

  /**
   * The task's events as they happen, ending after its final event. A dropped stream is
   * reopened with Last-Event-ID, so no event is lost or repeated.
   */
  async *events(id: string, options: EventsOptions = {}): AsyncGenerator<TaskEvent> {
    let lastSeq = options.lastEventId ?? 0;
    const limit = options.reconnects ?? 5;
    // Counts reopenings in a row that brought nothing new; a long stream may reopen any number of times.
    for (let fruitless = 0; ; fruitless += 1) {
      const seqBefore = lastSeq;
      const { response } = await send(this.#connection, {
        method: 'GET',
        path: `${taskPath(id)}/events`,
        timeoutMs: 2 ** 31 - 1,
        ...(options.signal ? { signal: options.signal } : {}),
        headers: { accept: 'text/event-stream', ...(lastSeq > 0 ? { 'last-event-id': String(lastSeq) } : {}) },
      });
      try {
        for await (const event of readServerSentEvents(response.body as AsyncIterable<Uint8Array>)) {
          const data = event.data ? (JSON.parse(event.data) as Record<string, unknown>) : {};
          if (event.event === 'error') {
            throw new SwitchyardError(`task event stream failed: ${String(data.error)}`, { status: 200, code: 'event_stream_error' });
          }
          const seq = Number(event.id);
          if (Number.isInteger(seq) && seq <= lastSeq) continue;
          if (Number.isInteger(seq)) lastSeq = seq;
          const { at, ...rest } = data;
          yield { seq, type: event.event, ...(typeof at === 'string' ? { at } : {}), data: rest };
          if (FINAL_EVENTS.has(event.event)) return;
        }
      } catch (error) {
        if (lastSeq > seqBefore) fruitless = 0;
        if (options.signal?.aborted || error instanceof SwitchyardError || fruitless >= limit) throw error;
        continue;
      }
      if (lastSeq > seqBefore) fruitless = 0;
      // The stream ended without a final event: over if the task is (its final event was before lastEventId).
      if (isFinished(await this.get(id, options.signal ? { signal: options.signal } : {}))) return;
      if (fruitless >= limit) throw new SwitchyardError('the task event stream kept closing early', { status: 0, code: 'network_error' });
    }
  }

  /** Resolves with the task once it has succeeded or failed (it follows the event stream; no polling). */
  async wait(id: string, options: { readonly signal?: AbortSignal; readonly timeoutMs?: number } = {}): Promise<Task> {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 600_000);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    try {
      for await (const event of this.events(id, { signal })) {
        if (FINAL_EVENTS.has(event.type)) break;
      }
      return await this.get(id, { signal });
    } catch (error) {
      if (timeout.aborted && !options.signal?.aborted) {
        const message = `task ${id} did not finish within ${options.timeoutMs ?? 600_000} ms`;
        throw new SwitchyardError(message, { status: 0, code: 'client_timeout' }, { cause: error });
      }
      throw error;
    }
  }
}
