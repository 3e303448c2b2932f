/**
 * What one answer means to an SRE. Refusals the gateway is designed to give (rate limit,
 * budget, backpressure, a retry racing its original) are counted apart from errors, so a
 * rollout is not failed for a tenant hitting its own limit.
 */
export const OUTCOMES = [
  'ok',
  'replayed',
  'rate_limited',
  'budget_exceeded',
  'unavailable',
  'in_progress',
  'client_error',
  'server_error',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Outcomes that count towards the error rate (with transport errors and timeouts). */
export const ERROR_OUTCOMES: ReadonlySet<Outcome> = new Set(['client_error', 'server_error']);

export function classifyOutcome(status: number, code: string | undefined, replayed: boolean): Outcome {
  if (status >= 200 && status < 300) return replayed ? 'replayed' : 'ok';
  if (status === 429) return code === 'budget_exceeded' ? 'budget_exceeded' : 'rate_limited';
  if (status === 503) return 'unavailable';
  if (status === 409 && code === 'idempotency_in_progress') return 'in_progress';
  return status >= 500 ? 'server_error' : 'client_error';
}

/** The `code` of a Switchyard error body, when the body is one. */
export function errorCode(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { code?: unknown };
    return typeof parsed.code === 'string' ? parsed.code : undefined;
  } catch {
    return undefined;
  }
}
