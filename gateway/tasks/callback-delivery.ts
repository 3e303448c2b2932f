import { SIGNATURE_HEADER, signCallback, TIMESTAMP_HEADER } from './callback-signature.js';
import type { CallbackAttempt } from './task-record.js';

export interface CallbackPolicy {
  readonly attempts: number;
  /** Delay before retry n is base * 2^(n-1). */
  readonly backoffMs: number;
  readonly timeoutMs: number;
}

/**
 * POSTs a task's result to its callback URL, signed, until a 2xx answer or the attempts
 * run out; every attempt is reported as it ends, so the task record shows them all.
 * A 4xx other than 408/429 is final: the receiver refused the delivery itself.
 */
export async function deliverCallback(
  url: string,
  body: string,
  secret: string,
  policy: CallbackPolicy,
  onAttempt: (attempt: CallbackAttempt) => Promise<void>,
): Promise<boolean> {
  for (let attempt = 1; attempt <= policy.attempts; attempt += 1) {
    const started = performance.now();
    const timestamp = Math.floor(Date.now() / 1000);
    let status: number | undefined;
    let error: string | undefined;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: signCallback(secret, timestamp, body) },
        body,
        signal: AbortSignal.timeout(policy.timeoutMs),
        redirect: 'manual',
      });
      status = response.status;
      await response.body?.cancel();
    } catch (failure) {
      error = (failure as Error).message;
    }
    await onAttempt({
      at: new Date().toISOString(),
      attempt,
      ...(status !== undefined ? { status } : {}),
      ...(error !== undefined ? { error } : {}),
      duration_ms: Math.round(performance.now() - started),
    });
    if (status !== undefined && status >= 200 && status < 300) return true;
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) return false;
    if (attempt < policy.attempts) await new Promise((resolve) => setTimeout(resolve, policy.backoffMs * 2 ** (attempt - 1)));
  }
  return false;
}
