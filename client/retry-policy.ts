import type { SwitchyardError } from './errors.js';

export interface RetryOptions {
  /** Retries after the first attempt (default 3; 0 turns retrying off). */
  readonly retries?: number;
  /** No single wait is longer; a Retry-After above it ends the call with the error instead (default 10 000). */
  readonly maxDelayMs?: number;
  /** Backoff when the server gives no Retry-After: base * 2^attempt, full jitter (default 200). */
  readonly baseDelayMs?: number;
}

/** Refusals that a later attempt may get past; budget_exceeded will not change by waiting. */
export function isRetryable(error: SwitchyardError): boolean {
  if (error.code === 'budget_exceeded') return false;
  return error.status === 503 || error.status === 429 || error.code === 'idempotency_in_progress';
}

/**
 * How long to wait before retry number `attempt` (1-based), or undefined to give up.
 * Never sooner than the server's Retry-After; jitter (up to a fifth more) spreads clients
 * that were refused together.
 */
export function retryDelay(
  attempt: number,
  retryAfterMs: number | undefined,
  options: RetryOptions,
  random: () => number = Math.random,
): number | undefined {
  if (attempt > (options.retries ?? 3)) return undefined;
  const cap = options.maxDelayMs ?? 10_000;
  if (retryAfterMs !== undefined) {
    if (retryAfterMs > cap) return undefined;
    return Math.min(cap, retryAfterMs + random() * retryAfterMs * 0.2);
  }
  const base = options.baseDelayMs ?? 200;
  return Math.min(cap, random() * base * 2 ** (attempt - 1));
}
