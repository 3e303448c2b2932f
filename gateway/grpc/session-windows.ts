import type { Http2Session } from 'node:http2';

/** The connection's receive window: many calls' tensors in flight at once. */
const CONNECTION_WINDOW = 16 * 1024 * 1024;
/** A stream's receive window, at most: one large tensor in a round trip or a few. */
const STREAM_WINDOW = 4 * 1024 * 1024;

const widened = new WeakSet<Http2Session>();

/**
 * Receive windows for a connection that carries ModelInfer, set on its first call. node:http2
 * keeps HTTP/2's 64 KiB defaults (grpc-js sets none), so a client could send at most 64 KiB of
 * one call, and 64 KiB of all its calls together, per round trip: about 64 MB/s at 1 ms, and the
 * 64 concurrent calls of a tritonclient on one connection queue behind each other's tensors
 * (gRPC's C core, Triton's server, grows its windows as it measures the link). Memory stays
 * bounded by GRPC_MAX_MESSAGE_BYTES per call: each message is read as it arrives and refused
 * past the limit, whatever the window.
 */
export function widenWindows(session: Http2Session | undefined, maxMessageBytes: number): void {
  if (!session || widened.has(session) || session.destroyed) return;
  widened.add(session);
  try {
    session.setLocalWindowSize(CONNECTION_WINDOW);
    session.settings({ initialWindowSize: Math.min(STREAM_WINDOW, maxMessageBytes + 5) });
  } catch {
    // A session closing under us keeps its defaults.
  }
}
