import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientRequestId } from './request-id.js';
import { ERROR_TABLE, RETRY_AFTER_SECONDS, ServingError, type ErrorCode } from '../../workers/protocol/errors.js';

/** fastify's own client errors, mapped onto Switchyard's codes with fixed messages: none echoes the request. */
const FASTIFY_ERRORS: Readonly<Record<string, readonly [ErrorCode, string]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['body_too_large', 'the body is larger than MAX_BODY_BYTES'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', 'the Content-Type is malformed or not one this endpoint reads'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['malformed_request', "the body's length differs from its Content-Length"],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['empty_body', 'the request has no body'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['invalid_json', 'the body is not valid JSON'],
  FST_ERR_BAD_URL: ['invalid_url', 'the URL has a malformed percent-encoded path'],
  FST_ERR_MAX_PARAM_LENGTH: ['url_too_long', 'a path segment is longer than 100 characters'],
};

/** Other framework 4xx statuses, by status. */
const BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  408: 'client_timeout',
  413: 'body_too_large',
  414: 'url_too_long',
  415: 'unsupported_media_type',
  431: 'headers_too_large',
};

/**
 * What ioredis says when Redis cannot be reached (fail-fast connections reject at once), or,
 * during a Sentinel or Cluster failover, when the node it reached cannot take the write yet
 * (a Cluster whose nodes still point at a dead master gives up after its redirections), and
 * what Redis answers when it refuses writes for a while (no replica in reach with
 * min-replicas-to-write, loading a dataset, a script running too long).
 */
const REDIS_UNREACHABLE = new RegExp(
  [
    "Stream isn't writeable|Connection is closed|enableOfflineQueue|MaxRetriesPerRequest|Command aborted due to connection close",
    'ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN',
    '^(READONLY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|NOREPLICAS|LOADING|BUSY) |All sentinels are unreachable',
    'Failed to refresh slots cache|None of startup nodes|Too many Cluster redirections|Cluster is disconnected|Node is disconnected',
    'Cluster command did not settle',
  ].join('|'),
);

/** True of the Redis client's own errors when Redis is away or refuses writes for now. */
export function isRedisUnreachable(error: Error): boolean {
  return error.name === 'MaxRetriesPerRequestError' || REDIS_UNREACHABLE.test(error.message);
}

export function toServingError(error: FastifyError | Error): ServingError {
  if (error instanceof ServingError) return error;
  // Said of any step: a call's model may already have run (a later step of a pipeline, say).
  if (isRedisUnreachable(error)) return new ServingError('backend_unavailable', 'Redis cannot be reached; the request did not complete');
  const fastifyError = error as FastifyError;
  // A route schema refused the request (ajv's message names the part and field, never the value sent).
  if (fastifyError.code === 'FST_ERR_VALIDATION') {
    return new ServingError(fastifyError.validationContext === 'body' ? 'invalid_request' : 'invalid_parameter', fastifyError.message);
  }
  const mapped = fastifyError.code ? FASTIFY_ERRORS[fastifyError.code] : undefined;
  if (mapped) return new ServingError(mapped[0], mapped[1]);
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return new ServingError(BY_STATUS[status] ?? 'malformed_request', (STATUS_CODES[status] ?? 'client error').toLowerCase());
  }
  return new ServingError('internal_error', 'internal error');
}

/** The request announced a body that has not been read to its end (refused before or while reading it). */
function bodyUnread(raw: IncomingMessage): boolean {
  const announced =
    raw.headers['transfer-encoding'] !== undefined ||
    (raw.headers['content-length'] !== undefined && raw.headers['content-length'] !== '0');
  return announced && !raw.complete;
}

/** After refusing an unread body, at most this much more of it is read (and discarded) before the connection is cut. */
const LINGER_BYTES = 1024 * 1024;
const LINGER_MS = 2_000;

/**
 * Closing a socket that still has unread bytes makes the kernel send a reset that can
 * destroy the answer before the client reads it. So the refused body is discarded for a
 * moment (a client stops sending once it reads the answer), then the connection is cut:
 * a huge upload is never drained.
 */
function lingerThenCut(raw: IncomingMessage, reply: FastifyReply): void {
  reply.removeHeader('connection');
  reply.raw.once('finish', () => {
    // Node has dumped the body by now (its own 'finish' listener runs first): count what it discards.
    let discarded = 0;
    const cut = (): void => void raw.socket?.destroy();
    const timer = setTimeout(cut, LINGER_MS);
    timer.unref();
    raw.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > LINGER_BYTES) cut();
    });
    raw.once('end', () => clearTimeout(timer));
    raw.once('close', () => clearTimeout(timer));
  });
}

function sendError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const serving = toServingError(error);
  request.errorCode = serving.code;
  // 501 is a feature Switchyard does not have, not a fault of its own.
  if (serving.status >= 500 && serving.status !== 501) request.log.error({ err: error, code: serving.code }, 'request failed');
  if (serving.status === 503 || serving.code === 'idempotency_in_progress' || serving.code === 'concurrency_limited')
    reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  if (bodyUnread(request.raw)) lingerThenCut(request.raw, reply);
  reply.header('x-request-id', request.id);
  const clientId = clientRequestId(request.headers);
  if (clientId !== undefined) reply.header('x-client-request-id', clientId);
  return reply.code(serving.status).send({ error: serving.message, code: serving.code });
}

/**
 * HTTP the parser refused before fastify saw a request (oversized headers, a bad
 * Content-Length, a timeout): answered on the socket in the same JSON shape, then closed.
 */
export function clientErrorReply(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, message]: [ErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['headers_too_large', 'the request line and headers are larger than 16 KiB']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['client_timeout', 'the request was not received in time']
        : ['malformed_request', 'the HTTP request could not be parsed'];
  const body = JSON.stringify({ error: message, code });
  const status = ERROR_TABLE[code].status;
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  if (socket.writable) socket.write(`${head.join('\r\n')}\r\n\r\n${body}`);
  socket.destroy();
}

/** Every error leaves as OIP's `{"error": "..."}` plus a stable `code`; 5xx details stay in the log. */
export function installErrorReplies(app: FastifyInstance): void {
  app.decorateRequest('errorCode', undefined);
  app.setErrorHandler((error: FastifyError, request, reply) => sendError(error, request, reply));
  // Unknown paths are answered by authentication's onRequest hook; this serves what slips past it.
  app.setNotFoundHandler((request, reply) =>
    sendError(new ServingError('route_not_found', `no endpoint ${request.method}`), request, reply),
  );
}

/** fastify's `frameworkErrors`: router failures (bad percent-encoding, over-long parameters) before any hook runs. */
export function frameworkErrorReply(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendError(error, request, reply);
}
