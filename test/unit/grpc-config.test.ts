import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config.js';
import { ERROR_TABLE, ServingError, type ErrorCode } from '../../workers/protocol/errors.js';
import { grpcCode } from '../../gateway/grpc/grpc-errors.js';
import { status } from '@grpc/grpc-js';

describe('gRPC settings', () => {
  it('listens on 8001 at HOST by default, with MAX_BODY_BYTES as its message limit', () => {
    const config = parseConfig({ HOST: '127.0.0.1', MAX_BODY_BYTES: '2048' });
    expect(config).toMatchObject({ GRPC_PORT: 8001, GRPC_HOST: '127.0.0.1', GRPC_MAX_MESSAGE_BYTES: 2048 });
    expect(parseConfig({ GRPC_PORT: '0', GRPC_HOST: '::1', GRPC_MAX_MESSAGE_BYTES: '4096' })).toMatchObject({
      GRPC_PORT: 0,
      GRPC_HOST: '::1',
      GRPC_MAX_MESSAGE_BYTES: 4096,
    });
  });

  it('is open (no tenants) only on loopback, like HTTP; off, it is not checked', () => {
    expect(() => parseConfig({ GRPC_HOST: '0.0.0.0' })).toThrow(/refusing to listen on 0\.0\.0\.0 with no tenants/);
    expect(parseConfig({ GRPC_HOST: '0.0.0.0', GRPC_PORT: '0' }).GRPC_PORT).toBe(0);
    expect(() => parseConfig({ GRPC_PORT: '70000' })).toThrow();
  });
});

describe('gRPC status codes', () => {
  it('maps every error code the way Triton maps HTTP statuses', () => {
    const expected: Record<number, status> = {
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
      500: status.INTERNAL,
      501: status.UNIMPLEMENTED,
      503: status.UNAVAILABLE,
    };
    for (const [code, entry] of Object.entries(ERROR_TABLE)) {
      expect(grpcCode(new ServingError(code as ErrorCode, 'x')), code).toBe(expected[entry.status]);
    }
  });
});
