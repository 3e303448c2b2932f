import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SAFE_ID = /^[\w.:@/+=-]{1,128}$/;

/** The caller's request id (HTTP header or gRPC metadata) when it is a reasonable token, else a new UUID. */
export function requestIdOf(given: unknown): string {
  return typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
}

export function requestIdFor(request: IncomingMessage): string {
  return requestIdOf(request.headers['x-request-id']);
}
