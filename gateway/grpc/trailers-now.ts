import type { ServerHttp2Stream } from 'node:http2';

/** node:http2's private per-stream handle and state, as Node 20 keeps them. */
interface StreamInternals {
  readonly handle: { trailers(list: readonly [string, number]): number };
  readonly state: { flags: number };
}

/** Node 20's STREAM_FLAGS_HAS_TRAILERS (lib/internal/http2/core.js): cleared as its finishSendTrailers clears it. */
const HAS_TRAILERS = 0x20;
/** The Node majors whose internals this was read from and is tested against. */
const KNOWN_MAJORS = new Set([20]);
const known = KNOWN_MAJORS.has(Number(process.versions.node.split('.')[0]));

let handleSymbol: symbol | undefined;
let stateSymbol: symbol | undefined;

function internalsOf(stream: ServerHttp2Stream): StreamInternals | undefined {
  if (!known) return undefined;
  if (handleSymbol === undefined || stateSymbol === undefined) {
    const symbols = Object.getOwnPropertySymbols(stream);
    handleSymbol = symbols.find((symbol) => symbol.description === 'kHandle');
    stateSymbol = symbols.find((symbol) => symbol.description === 'state');
    if (handleSymbol === undefined || stateSymbol === undefined) return undefined;
  }
  const fields = stream as unknown as Record<symbol, unknown>;
  const handle = fields[handleSymbol] as StreamInternals['handle'] | undefined;
  const state = fields[stateSymbol] as StreamInternals['state'] | undefined;
  if (typeof handle?.trailers !== 'function' || typeof state?.flags !== 'number') return undefined;
  return { handle, state };
}

/** Whether endWithStatus takes the one-write path on this stream (Node's internals are the known ones). */
export function sendsInOneWrite(stream: ServerHttp2Stream): boolean {
  return internalsOf(stream) !== undefined;
}

/**
 * Ends a stream answered with respond(…, { waitForTrailers: true }): the message, then trailers
 * holding only `grpc-status: <code>` (grpc-message is left out when empty, as gRPC's C core does).
 *
 * Through Node's API the trailers leave one to three event-loop turns after the message: its
 * Writable shuts the stream's writable side only once the message's write has completed, and
 * sendTrailers defers them to a setImmediate; the call ends for the caller only with its
 * trailers, and under load those turns were most of gRPC unary's tail latency. Here the writable
 * side is shut right after the last write, as Node already does for a stream without trailers,
 * and the trailers are submitted from inside nghttp2's data callback (where 'wantTrailers' is
 * emitted; nghttp2 takes them there), as Node's finishSendTrailers would submit them: headers,
 * message and trailers then leave in one write. Where the internals are not the known ones, it
 * is Node's API.
 */
export function endWithStatus(stream: ServerHttp2Stream, message: Buffer | readonly Buffer[], code: number): void {
  const internals = internalsOf(stream);
  if (internals) {
    // Node's _write then shuts the writable side on the next tick, its check for trailers passed.
    internals.state.flags &= ~HAS_TRAILERS;
    stream.once('wantTrailers', () => {
      if (stream.destroyed || stream.closed) return;
      // mapToHeaders' list: name NUL value NUL flags (none), and the count.
      if (internals.handle.trailers([`grpc-status\u0000${code}\u0000\u0000`, 1]) < 0) stream.destroy();
    });
  } else {
    stream.once('wantTrailers', () => {
      if (!stream.destroyed && !stream.closed) stream.sendTrailers({ 'grpc-status': String(code) });
    });
  }
  if (Buffer.isBuffer(message)) stream.end(message);
  else {
    for (const part of message) stream.write(part);
    stream.end();
  }
}
