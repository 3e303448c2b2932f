import { randomUUID } from 'node:crypto';
import { SwitchyardError, errorFromResponse } from './errors.js';
import { isRetryable, retryDelay, type RetryOptions } from './retry-policy.js';

export interface ConnectionOptions {
  /** The gateway's base URL, e.g. http://switchyard.internal:8080 */
  readonly baseUrl: string;
  /** Sent as Authorization: Bearer <apiKey>. */
  readonly apiKey?: string;
  /** Whole-call limit, every attempt and wait included (default 60 000 ms). */
  readonly timeoutMs?: number;
  readonly retry?: RetryOptions;
  /** Sent with every request (e.g. traceparent). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Another fetch implementation (default: Node's global fetch). */
  readonly fetch?: typeof fetch;
}

/** What every call accepts. */
export interface CallOptions {
  /** Aborting closes the connection and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** Default: a fresh UUID per call, the same for its retries, so a retried call runs once. false sends none. */
  readonly idempotencyKey?: string | false;
  readonly retry?: RetryOptions;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface SendRequest extends CallOptions {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly body?: string | Uint8Array;
  /** Whether an Idempotency-Key goes with it (POSTs that run something). */
  readonly keyed?: boolean;
}

export interface SentResponse {
  readonly response: Response;
  readonly attempts: number;
  readonly idempotencyKey?: string;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Sends one logical call: retries 503 and 429 answers (and connection failures, when the
 * call is safe to repeat) after Retry-After, with the same Idempotency-Key each time.
 */
export async function send(connection: ConnectionOptions, request: SendRequest): Promise<SentResponse> {
  const timeoutMs = request.timeoutMs ?? connection.timeoutMs ?? 60_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  const retry = { ...connection.retry, ...request.retry };
  const idempotencyKey = request.keyed && request.idempotencyKey !== false ? (request.idempotencyKey ?? randomUUID()) : undefined;
  const headers: Record<string, string> = {
    ...connection.headers,
    ...(connection.apiKey !== undefined ? { authorization: `Bearer ${connection.apiKey}` } : {}),
    ...(idempotencyKey !== undefined ? { 'idempotency-key': idempotencyKey } : {}),
    ...request.headers,
  };
  const safeToRepeat = request.method === 'GET' || idempotencyKey !== undefined;
  const doFetch = connection.fetch ?? fetch;
  const url = new URL(request.path, connection.baseUrl.endsWith('/') ? connection.baseUrl : `${connection.baseUrl}/`);

  for (let attempt = 1; ; attempt += 1) {
    let failure: SwitchyardError;
    try {
      const body = request.body !== undefined ? { body: request.body as BodyInit } : {};
      const response = await doFetch(url, { method: request.method, headers, signal, ...body });
      if (response.ok) return { response, attempts: attempt, ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) };
      failure = await errorFromResponse(response, attempt);
      if (!isRetryable(failure)) throw failure;
    } catch (error) {
      if (error instanceof SwitchyardError) throw error;
      const reason = stopped(signal, timeout, timeoutMs, attempt);
      if (reason !== undefined) throw reason;
      // The request may have reached the server: repeat it only when the key makes that harmless.
      const details = { status: 0, code: 'network_error', attempts: attempt };
      failure = new SwitchyardError(`cannot reach ${url.origin}: ${(error as Error).message}`, details, { cause: error });
      if (!safeToRepeat) throw failure;
    }
    const delay = retryDelay(attempt, failure.retryAfterMs, retry);
    if (delay === undefined) throw failure;
    try {
      await sleep(delay, signal);
    } catch {
      throw stopped(signal, timeout, timeoutMs, attempt) ?? failure;
    }
  }
}

/** The error for a call its caller aborted (their reason) or that ran out of time. */
function stopped(signal: AbortSignal, timeout: AbortSignal, timeoutMs: number, attempts: number): unknown {
  if (!signal.aborted) return undefined;
  if (!timeout.aborted) return signal.reason;
  return new SwitchyardError(
    `no answer within ${timeoutMs} ms`,
    { status: 0, code: 'client_timeout', attempts },
    { cause: timeout.reason },
  );
}
