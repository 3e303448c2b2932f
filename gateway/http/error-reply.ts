import type { FastifyError, FastifyInstance } from 'fastify';
import { ERROR_TABLE, RETRY_AFTER_SECONDS, ServingError, type ErrorCode } from '../../workers/protocol/errors.js';

/** fastify's own client errors, mapped onto Switchyard's codes. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
};

export function toServingError(error: FastifyError | Error): ServingError {
  if (error instanceof ServingError) return error;
  const fastifyError = error as FastifyError;
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new ServingError(mapped, error.message);
  if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new ServingError('INVALID_REQUEST', error.message);
  }
  return new ServingError('INTERNAL_ERROR', 'internal error');
}

/** Every error leaves as OIP's `{"error": "..."}` plus a stable `code`; 5xx details stay in the log. */
export function installErrorReplies(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const serving = toServingError(error);
    if (serving.status >= 500) request.log.error({ err: error, code: serving.code }, 'request failed');
    if (serving.status === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    reply.header('x-request-id', request.id);
    return reply.code(serving.status).send({ error: serving.message, code: serving.code });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(ERROR_TABLE.ROUTE_NOT_FOUND.status).send({ error: `no endpoint ${request.method} ${request.url}`, code: 'ROUTE_NOT_FOUND' });
  });
}
