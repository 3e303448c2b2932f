import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

/** A connection with no call open this long is closed (GOAWAY), as HTTP closes a socket idle for its connectionTimeout. */
export const CONNECTION_IDLE_MS = 120_000;
/** A unary call's request must arrive whole within this, as HTTP's requestTimeout asks of a body. */
export const RECEIVE_TIMEOUT_MS = 120_000;

const STREAMING_PATH = '/inference.GRPCInferenceService/ModelStreamInfer';

/**
 * Cancels a unary call whose request has not ended `timeoutMs` after it opened: a call stalled
 * half-way through its message held its bytes (and its share of BODY_MEMORY_BYTES) for as long
 * as the client kept the connection. A streaming call is exempt: its requests come when its
 * client has them, and each one is bounded by the message limit.
 */
export function receiveDeadline(timeoutMs: number): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void {
  return (stream, headers) => {
    if (headers[':path'] === STREAMING_PATH) return;
    const timer = setTimeout(() => {
      if (!stream.destroyed && !stream.closed) stream.close(constants.NGHTTP2_CANCEL);
    }, timeoutMs);
    const clear = (): void => clearTimeout(timer);
    stream.once('end', clear);
    stream.once('close', clear);
  };
}

/** Connections each of grpc-js's HTTP/2 servers holds at once (MAX_CONNECTIONS); false where its internals differ. */
export function limitConnections(server: Server, maxConnections: number): boolean {
  const servers = (server as unknown as { http2Servers?: Map<{ maxConnections: number }, unknown> }).http2Servers;
  if (!(servers instanceof Map)) return false;
  for (const http2Server of servers.keys()) http2Server.maxConnections = maxConnections;
  return true;
}
