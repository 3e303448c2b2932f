import type { FastifyError, FastifyInstance } from 'fastify';
import { ERROR_TABLE, RETRY_AFTER_SECONDS, ServingError, type ErrorCode } from '../../workers/protocol/errors.js';

/** fastify's own client errors, mapped onto Switchyard's codes. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
};

/** What ioredis says when Redis cannot be reached (fail-fast connections reject at once). */
const REDIS_UNREACHABLE = /Stream isn't writeable|Connection is closed|enableOfflineQueue|ECONNREFUSED|MaxRetriesPerRequest/;

export function toServingError(error: FastifyError | Error): ServingError {
  if (error instanceof ServingError) return error;
  if (error.name === 'MaxRetriesPerRequestError' || REDIS_UNREACHABLE.test(error.message)) {
    return new ServingError('backend_unavailable', 'Redis cannot be reached; nothing was run');
  }
  const fastifyError = error as FastifyError;
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new ServingError(mapped, error.message);
  if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new ServingError('invalid_request', error.message);
  }
  return new ServingError('internal_error', 'internal error');
}

/** Every error leaves as OIP's `{"error": "..."}` plus a stable `code`; 5xx details stay in the log. */
export function installErrorReplies(app: FastifyInstance): void {
  app.decorateRequest('errorCode', undefined);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const serving = toServingError(error);
    request.errorCode = serving.code;
    // 501 is a feature Switchyard does not have, not a fault of its own.
    if (serving.status >= 500 && serving.status !== 501) request.log.error({ err: error, code: serving.code }, 'request failed');
    if (serving.status === 503 || serving.code === 'idempotency_in_progress') reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    reply.header('x-request-id', request.id);
    return reply.code(serving.status).send({ error: serving.message, code: serving.code });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(ERROR_TABLE.route_not_found.status).send({ error: `no endpoint ${request.method} ${request.url}`, code: 'route_not_found' });
  });
}
