import type { Logger } from 'pino';
import type { CallbackGuard } from './callback-guard.js';
import { postToTarget } from './callback-request.js';
import { SIGNATURE_HEADER, signCallback, TIMESTAMP_HEADER } from './callback-signature.js';
import type { CallbackAttempt } from './task-record.js';

export interface CallbackPolicy {
  readonly attempts: number;
  /** Delay before retry n is base * 2^(n-1). */
  readonly backoffMs: number;
  readonly timeoutMs: number;
  /** Checks the URL again before every attempt, and pins the address it checked. */
  readonly guard: CallbackGuard;
  /** Gets why an attempt failed; the task record says only "delivery failed". */
  readonly logger?: Logger;
}

export interface CallbackTo {
  readonly url: string;
  readonly tenant: string;
}

/** Runs one attempt's connection; the sender's cap on open callback connections. */
export type CallbackConnection = <T>(open: () => Promise<T>) => Promise<T>;

const direct: CallbackConnection = (open) => open();

/**
 * One signed POST of the task to its callback URL, as its record shows it. A failure with no
 * answer is recorded as "delivery failed" and nothing more, so the record cannot tell a refused
 * address from a closed port or a timeout (it would make a port scanner).
 */
export async function attemptCallback(
  { url, tenant }: CallbackTo,
  body: string,
  secret: string,
  attempt: number,
  policy: CallbackPolicy,
): Promise<CallbackAttempt> {
  const started = performance.now();
  const timestamp = Math.floor(Date.now() / 1000);
  let status: number | undefined;
  let error: string | undefined;
  try {
    const target = await policy.guard.vet(tenant, url);
    const headers = {
      'content-type': 'application/json',
      [TIMESTAMP_HEADER]: String(timestamp),
      [SIGNATURE_HEADER]: signCallback(secret, timestamp, body),
    };
    status = await postToTarget(target, headers, body, policy.timeoutMs);
  } catch (failure) {
    error = 'delivery failed';
    policy.logger?.warn({ tenant, attempt, reason: (failure as Error).message }, 'callback delivery failed');
  }
  return {
    at: new Date().toISOString(),
    attempt,
    ...(status !== undefined ? { status } : {}),
    ...(error !== undefined ? { error } : {}),
    duration_ms: Math.round(performance.now() - started),
  };
}

/**
 * What an attempt leaves: delivered on a 2xx; failed for good on a 3xx (redirects are not
 * followed) or a 4xx other than 408/429 (the receiver refused the delivery itself), or when it
 * was the last of `limit`; else another attempt.
 */
export function afterAttempt({ attempt, status }: CallbackAttempt, limit: number): 'delivered' | 'failed' | 'retry' {
  if (status !== undefined && status >= 200 && status < 300) return 'delivered';
  if (status !== undefined && status >= 300 && status < 500 && status !== 408 && status !== 429) return 'failed';
  return attempt < limit ? 'retry' : 'failed';
}

/** The wait after failed attempt n. */
export const retryDelayMs = (policy: CallbackPolicy, attempt: number): number => policy.backoffMs * 2 ** (attempt - 1);

export interface DeliveryOptions {
  /** The attempt to start at: one after those already on the record. */
  readonly from?: number;
  readonly connection?: CallbackConnection;
  /** No attempt starts once aborted (one already connecting ends as it does): the delivery ends `stopped`. */
  readonly stop?: AbortSignal;
}

/**
 * POSTs a task's result to its callback URL, signed, until a 2xx answer or the attempts run
 * out; every attempt is reported as it ends, so the task record shows them all. The wait
 * between attempts holds no connection.
 */
export async function deliverCallback(
  to: CallbackTo,
  body: string,
  secret: string,
  policy: CallbackPolicy,
  onAttempt: (attempt: CallbackAttempt) => Promise<void>,
  { from = 1, connection = direct, stop }: DeliveryOptions = {},
): Promise<'delivered' | 'failed' | 'stopped'> {
  for (let number = from; number <= policy.attempts; number += 1) {
    // Checked again once a connection is free: the wait for one may outlast the stop.
    const attempt = await connection(async () => (stop?.aborted ? undefined : attemptCallback(to, body, secret, number, policy)));
    if (!attempt) return 'stopped';
    await onAttempt(attempt);
    const next = afterAttempt(attempt, policy.attempts);
    if (next !== 'retry') return next;
    await pause(retryDelayMs(policy, number), stop);
  }
  return 'failed';
}

function pause(ms: number, stop: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      stop?.removeEventListener('abort', done);
      resolve();
    }
    stop?.addEventListener('abort', done, { once: true });
  });
}
