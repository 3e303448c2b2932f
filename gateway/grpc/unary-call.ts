import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { answerMetadata, authorizeCall, failCall, finishCall, openCall, type GrpcCall, type GrpcFront } from './grpc-call.js';

/**
 * A unary RPC around one of the queries HTTP answers too: authentication and the rate
 * limit first (none for liveness and readiness, like HTTP's health routes), then the
 * answer or a gRPC status, then the same metrics and log line.
 */
export function unary<Request>(
  front: GrpcFront,
  method: string,
  open: boolean,
  answer: (call: GrpcCall, request: Request) => Promise<object> | object,
) {
  return (grpcCall: ServerUnaryCall<Request, unknown>, callback: sendUnaryData<unknown>): void => {
    const call = openCall(front, method, grpcCall.metadata);
    (open ? Promise.resolve() : authorizeCall(front, call, grpcCall).then(() => undefined))
      .then(() => answer(call, grpcCall.request))
      .then((message) => {
        grpcCall.sendMetadata(answerMetadata(call));
        callback(null, message);
        finishCall(front, call, 200, undefined);
      })
      .catch((error: unknown) => {
        const failed = failCall(call, error);
        callback(failed.status);
        finishCall(front, call, failed.httpStatus, failed.code);
      });
  };
}
