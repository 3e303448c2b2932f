import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { RETRY_AFTER_SECONDS, ServingError } from '../../workers/protocol/errors.js';

/** HTTP statuses to gRPC codes, the way Triton maps its own errors. */
const BY_STATUS: Readonly<Record<number, status>> = {
  400: status.INVALID_ARGUMENT,
  401: status.UNAUTHENTICATED,
  403: status.PERMISSION_DENIED,
  404: status.NOT_FOUND,
  408: status.DEADLINE_EXCEEDED,
  409: status.ALREADY_EXISTS,
  413: status.RESOURCE_EXHAUSTED,
  414: status.INVALID_ARGUMENT,
  415: status.INVALID_ARGUMENT,
  417: status.INVALID_ARGUMENT,
  422: status.FAILED_PRECONDITION,
  429: status.RESOURCE_EXHAUSTED,
  431: status.RESOURCE_EXHAUSTED,
  499: status.CANCELLED,
  501: status.UNIMPLEMENTED,
  503: status.UNAVAILABLE,
};

export function grpcCode(error: ServingError): status {
  return grpcStatusOf(error.status);
}

/** The gRPC code an HTTP status maps to (OK for 2xx). */
export function grpcStatusOf(httpStatus: number): status {
  return httpStatus < 300 ? status.OK : (BY_STATUS[httpStatus] ?? status.INTERNAL);
}

/** The message is HTTP's text; the stable code (and the request id, and Retry-After for 503s) travel in trailing metadata. */
export function toServiceError(error: ServingError, requestId: string): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set('x-error-code', error.code);
  metadata.set('x-request-id', requestId);
  if (error.status === 503 || error.code === 'idempotency_in_progress' || error.code === 'concurrency_limited')
    metadata.set('retry-after', String(RETRY_AFTER_SECONDS));
  return { code: grpcCode(error), details: error.message, metadata };
}

/**
 * An answer over the gRPC send limit: refused as its own request's error (a stream goes on),
 * not left to grpc-js, which would end the call, and on a stream every request still in it.
 */
export function answerTooLarge(bytes: number, limit: number): ServingError {
  return new ServingError(
    'body_too_large',
    `the answer is ${bytes} bytes, larger than the gRPC message limit of ${limit} bytes (GRPC_MAX_MESSAGE_BYTES): ask for fewer rows or outputs, or call over HTTP`,
  );
}
