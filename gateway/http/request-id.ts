import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const SAFE_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * The gateway's own id for every request, never the caller's: audit records, logs and
 * review items are keyed by it, and a caller must not choose (or collide with) another's.
 */
export function requestIdFor(): string {
  return randomUUID();
}

/** The caller's X-Request-Id when it is a reasonable token: kept beside the gateway's id as client_request_id. */
export function clientRequestId(headers: IncomingHttpHeaders): string | undefined {
  const given = headers['x-request-id'];
  return typeof given === 'string' && SAFE_ID.test(given) ? given : undefined;
}
