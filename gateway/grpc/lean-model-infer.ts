import { constants, type Http2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { type Metadata, status } from '@grpc/grpc-js';
import { ServingError } from '../../workers/protocol/errors.js';
import { UNCOUNTED_BODY_BYTES } from '../limits/body-memory.js';
import { MAX_TIMER_MS } from '../../workers/runtime/max-timer.js';
import { answerTooLarge, toServiceError } from './grpc-errors.js';
import { answerHeaders, authorizeCall, failCall, finishCall, openCall, type GrpcFront } from './grpc-call.js';
import { encodeFramedGrpcAnswer, framedOf } from './encode-infer-response.js';
import { decompressMessage, FrameError, frameMessage, unaryMessage } from './grpc-frames.js';
import { readInferRequest } from './infer-request-reader.js';
import { widenWindows } from './session-windows.js';
import { endWithStatus } from './trailers-now.js';
import { infer, type Codec } from './infer-service.js';
import { HeaderMetadata, peerOf, timeoutMs } from './stream-headers.js';

export interface LeanLimits {
  readonly maxReceiveBytes: number;
  readonly maxSendBytes: number;
}

const CONTENT_TYPE = 'application/grpc+proto';

/** Each connection's peer, read once: session.socket is a proxy, and its address a native call. */
const PEERS = new WeakMap<Http2Session, string>();
function sessionPeer(session: Http2Session | undefined): string {
  if (!session) return 'unknown';
  let peer = PEERS.get(session);
  if (peer === undefined) {
    peer = peerOf(session.socket);
    PEERS.set(session, peer);
  }
  return peer;
}

/**
 * ModelInfer on the HTTP/2 stream itself: the same request pipeline and the same answers as the
 * grpc-js handler, without grpc-js's per-call objects (interceptor chain, Metadata copies, stream
 * decoder, call emitter), which cost more per call than HTTP/1.1's whole request.
 */
export function leanModelInfer(front: GrpcFront, codec: Codec, limits: LeanLimits) {
  return (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    // Errors end in 'close', which cancels the call.
    stream.on('error', () => undefined);
    widenWindows(stream.session, limits.maxReceiveBytes);
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const controller = new AbortController();
    let answered = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;

    /** A status with no message (trailers-only, as every gRPC error is sent); later ones are dropped. */
    const sendStatus = (code: status, details: string, trailers: OutgoingHttpHeaders = {}): void => {
      if (answered || stream.destroyed || stream.closed) return;
      answered = true;
      trailers[':status'] = 200;
      trailers['content-type'] = CONTENT_TYPE;
      trailers['grpc-status'] = String(code);
      trailers['grpc-message'] = encodeURI(details);
      stream.respond(trailers, { endStream: true });
    };
    // The message's bytes past 64 KiB are taken from the gateway's body memory as they arrive, given back at the end.
    const hold = front.bodyMemory?.hold();
    let held = 0;
    stream.on('close', () => {
      clearTimeout(timer);
      hold?.release();
      if (!settled) controller.abort();
    });
    // A deadline past what a timer holds (2^31-1 ms, 24.8 days: Go's long contexts) is no practical deadline.
    const asked = timeoutMs(headers['grpc-timeout']);
    const deadline = asked !== undefined && asked > MAX_TIMER_MS ? undefined : asked;
    if (deadline !== undefined && Number.isNaN(deadline)) {
      sendStatus(status.INTERNAL, `Invalid grpc-timeout value "${String(headers['grpc-timeout'])}"`);
      return;
    }
    const expiresAt = deadline === undefined ? undefined : performance.now() + deadline;
    if (deadline !== undefined)
      timer = setTimeout(() => {
        sendStatus(status.DEADLINE_EXCEEDED, 'Deadline exceeded');
        controller.abort();
      }, deadline);

    const metadata = new HeaderMetadata(headers);
    const source = { metadata, getPeer: () => sessionPeer(stream.session) };
    const run = (message: Buffer): void => {
      let request: ReturnType<typeof readInferRequest>;
      try {
        request = readInferRequest(message);
      } catch {
        sendStatus(status.INTERNAL, 'Error deserializing request');
        return;
      }
      const call = openCall(front, 'ModelInfer', metadata);
      authorizeCall(front, call, source)
        .then(() => infer(front, codec, call, request, metadata, controller.signal, false, encodeFramedGrpcAnswer))
        .then(({ replayed, answer }) => {
          settled = true;
          if (expiresAt !== undefined && performance.now() >= expiresAt) {
            // The deadline passed as the answer came, before its timer ran (a sub-millisecond
            // grpc-timeout, a fast model): the caller gets what the timer would have sent.
            clearTimeout(timer);
            sendStatus(status.DEADLINE_EXCEEDED, 'Deadline exceeded');
            const failed = failCall(call, new ServingError('client_cancelled', 'the call passed its deadline'));
            finishCall(front, call, failed.httpStatus, failed.code);
            return;
          }
          const body = answer.body as Buffer;
          if (body.length > limits.maxSendBytes) throw answerTooLarge(body.length, limits.maxSendBytes);
          if (!answered && !stream.destroyed && !stream.closed) {
            const initial: OutgoingHttpHeaders = answerHeaders(call, answer.headers);
            if (replayed) initial['idempotent-replayed'] = 'true';
            initial[':status'] = 200;
            initial['content-type'] = CONTENT_TYPE;
            stream.respond(initial, { waitForTrailers: true });
            answered = true;
            // A replayed answer's message is as stored: its prefix is written beside it.
            endWithStatus(stream, framedOf(body) ?? frameMessage(body), status.OK);
          }
          clearTimeout(timer);
          finishCall(front, call, 200, undefined);
        })
        .catch((error: unknown) => {
          settled = true;
          clearTimeout(timer);
          const failed = failCall(
            call,
            controller.signal.aborted ? new ServingError('client_cancelled', 'the caller cancelled the call') : error,
          );
          sendStatus(failed.status.code!, failed.status.details!, failed.status.metadata!.toHttp2Headers());
          finishCall(front, call, failed.httpStatus, failed.code);
        });
    };

    /** A refusal while the caller may still be sending: the status, then RST_STREAM NO_ERROR so it stops (RFC 9113 8.1). */
    const refuse = (code: status, details: string, trailers?: OutgoingHttpHeaders): void => {
      sendStatus(code, details, trailers);
      chunks.length = 0;
      if (!stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
    };
    const chunks: Buffer[] = [];
    let received = 0;
    let announced: number | undefined;
    stream.on('data', (chunk: Buffer) => {
      if (answered) return;
      received += chunk.length;
      chunks.push(chunk);
      // The announced length is refused as soon as the prefix is in, not when the message is; a flood past it stops too.
      if (announced === undefined && received >= 5) {
        announced = (chunks.length === 1 ? chunk : Buffer.concat(chunks, received)).readUInt32BE(1);
        if (announced > limits.maxReceiveBytes)
          return refuse(status.RESOURCE_EXHAUSTED, `Received message larger than max (${announced} vs. ${limits.maxReceiveBytes})`);
      }
      if (received > limits.maxReceiveBytes + 5)
        return refuse(status.RESOURCE_EXHAUSTED, `Received message larger than max (${received - 5} vs. ${limits.maxReceiveBytes})`);
      if (hold && received > UNCOUNTED_BODY_BYTES) {
        try {
          hold.take(received - held);
          held = received;
        } catch (error) {
          const { code, details, metadata } = toServiceError(error as ServingError, '');
          refuse(code!, details!, (metadata as Metadata).toHttp2Headers());
        }
      }
    });
    stream.on('end', () => {
      if (answered) return;
      try {
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
        const { compressed, message } = unaryMessage(body, limits.maxReceiveBytes);
        if (!compressed) return run(message);
        const encoding = headers['grpc-encoding'];
        // What it inflates to counts against the body memory, as an inflated HTTP body does.
        let inflated = 0;
        let inflatedHeld = 0;
        const takeInflated = (bytes: number): void => {
          inflated += bytes;
          if (!hold || inflated <= UNCOUNTED_BODY_BYTES) return;
          hold.take(inflated - inflatedHeld);
          inflatedHeld = inflated;
        };
        decompressMessage(message, typeof encoding === 'string' ? encoding : 'identity', limits.maxReceiveBytes, takeInflated).then(
          run,
          (error: unknown) => {
            if (error instanceof FrameError) return sendStatus(error.code, error.message);
            const { code, details, metadata } = toServiceError(error as ServingError, '');
            sendStatus(code!, details!, (metadata as Metadata).toHttp2Headers());
          },
        );
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
        sendStatus(error.code, error.message);
      }
    });
  };
}
