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

/** The caller's id (HTTP header or gRPC metadata) when it is a reasonable token: kept beside the gateway's id as client_request_id. */
export function clientRequestIdOf(given: unknown): string | undefined {
  return typeof given === 'string' && SAFE_ID.test(given) ? given : undefined;
}

/** The caller's X-Request-Id, as clientRequestIdOf keeps it. */
export function clientRequestId(headers: IncomingHttpHeaders): string | undefined {
  return clientRequestIdOf(headers['x-request-id']);
}
