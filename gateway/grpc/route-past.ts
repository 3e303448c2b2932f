import type { Server } from '@grpc/grpc-js';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';

type StreamHandler = (extraInterceptors: readonly unknown[], stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;

/**
 * Routes one method's calls past grpc-js to `handler` (and shows every call's stream to
 * `everyStream` first), on grpc-js's own HTTP/2 server (its TLS,
 * sessions, keepalive and shutdown stay): grpc-js hands every new stream to its per-instance
 * _streamHandler, wrapped here. False, and grpc-js keeps the method, where that entry point is
 * not what this code knows (another grpc-js version) or the credentials add interceptors.
 * Call it before bindAsync (grpc-js binds its handler then), on a server with channelz off
 * (channelz has an entry point of its own).
 */
export function routePast(
  server: Server,
  path: string,
  handler: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void,
  everyStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void = () => undefined,
): boolean {
  const internals = server as unknown as { _streamHandler?: StreamHandler; onStreamOpened?: (stream: ServerHttp2Stream) => void };
  const original = internals._streamHandler;
  if (typeof original !== 'function' || original.length !== 3 || typeof internals.onStreamOpened !== 'function') return false;
  internals._streamHandler = function (this: typeof internals, extraInterceptors, stream, headers) {
    everyStream(stream, headers);
    if (headers[':path'] !== path || extraInterceptors.length > 0) return original.call(this, extraInterceptors, stream, headers);
    // grpc-js's idle-connection accounting, as its own handler does for every stream.
    this.onStreamOpened!(stream);
    handler(stream, headers);
  };
  return true;
}
