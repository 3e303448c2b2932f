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

/**
 * POSTs a task's result to its callback URL, signed, until a 2xx answer or the attempts
 * run out; every attempt is reported as it ends, so the task record shows them all.
 * A 4xx other than 408/429 is final: the receiver refused the delivery itself; so is a 3xx,
 * as redirects are not followed. A failure with no answer is recorded as "delivery failed"
 * and nothing more, so the record cannot tell a refused address from a closed port or a
 * timeout (it would make a port scanner).
 */
export async function deliverCallback(
  { url, tenant }: { readonly url: string; readonly tenant: string },
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
    await onAttempt({
      at: new Date().toISOString(),
      attempt,
      ...(status !== undefined ? { status } : {}),
      ...(error !== undefined ? { error } : {}),
      duration_ms: Math.round(performance.now() - started),
    });
    if (status !== undefined && status >= 200 && status < 300) return true;
    if (status !== undefined && status >= 300 && status < 500 && status !== 408 && status !== 429) return false;
    if (attempt < policy.attempts) await new Promise((resolve) => setTimeout(resolve, policy.backoffMs * 2 ** (attempt - 1)));
  }
  return false;
}
