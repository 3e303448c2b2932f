/** Facts about a failed call, as the gateway's JSON error body and headers give them. */
export interface SwitchyardErrorDetails {
  readonly status: number;
  /** The stable code from the error body (docs/errors.md), or the client's own: see below. */
  readonly code: string;
  readonly retryAfterMs?: number;
  readonly requestId?: string;
  /** How many HTTP attempts the call made before giving up. */
  readonly attempts?: number;
}

/**
 * An error answer from the gateway. `code` is the server's stable code; an answer without a
 * JSON error body (a proxy's 502, say) gets `http_<status>`, and one that the client cannot
 * read gets `invalid_response`.
 */
export class SwitchyardError extends Error implements SwitchyardErrorDetails {
  readonly status: number;
  readonly code: string;
  readonly retryAfterMs?: number;
  readonly requestId?: string;
  readonly attempts?: number;

  constructor(message: string, details: SwitchyardErrorDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SwitchyardError';
    this.status = details.status;
    this.code = details.code;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.requestId !== undefined) this.requestId = details.requestId;
    if (details.attempts !== undefined) this.attempts = details.attempts;
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Builds the error for a non-2xx response, reading its `{"error", "code"}` body when there is one. */
export async function errorFromResponse(response: Response, attempts: number): Promise<SwitchyardError> {
  const text = await response.text().catch(() => '');
  let message = `HTTP ${response.status}`;
  let code = `http_${response.status}`;
  try {
    const body = JSON.parse(text) as { error?: unknown; code?: unknown };
    if (typeof body.error === 'string') message = body.error;
    if (typeof body.code === 'string') code = body.code;
  } catch {
    if (text.length > 0) message = `HTTP ${response.status}: ${text.slice(0, 200)}`;
  }
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  const requestId = response.headers.get('x-request-id') ?? undefined;
  return new SwitchyardError(message, {
    status: response.status,
    code,
    attempts,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
  });
}
