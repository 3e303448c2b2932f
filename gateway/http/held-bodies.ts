import { Transform, type Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { type BodyHold, type BodyMemory, UNCOUNTED_BODY_BYTES } from '../limits/body-memory.js';

/** What fastify reads the body from; an inflated body also reports the bytes that came over the wire. */
type Body = Readable & { receivedEncodedLength?: number };

/**
 * Every request body past 64 KiB takes its bytes from the gateway's BodyMemory as they arrive
 * (after inflating, so a gzip bomb counts what it becomes) and gives them back when its
 * response ends, however it ends. A body that finds the memory full is answered 503
 * server_busy and the rest of it is read and dropped, so that answer reaches the client.
 */
export function installHeldBodies(app: FastifyInstance, memory: BodyMemory): void {
  app.addHook('preParsing', (request, reply, payload, done) => {
    const { 'content-length': length, 'content-encoding': encoding, 'transfer-encoding': chunked } = request.headers;
    // A small identity body with a declared length (almost every request) passes untouched.
    if (encoding === undefined && chunked === undefined && (length === undefined || Number(length) <= UNCOUNTED_BODY_BYTES))
      return done(null, payload);
    const hold = memory.hold();
    const body = counted(payload as Body, hold);
    reply.raw.once('close', () => {
      hold.release();
      // Answered before its body was read (a refusal mid-upload): the rest is read and dropped, as
      // Node does for a request nobody reads, so the client's upload ends and it reads the answer.
      if (!payload.readableEnded) {
        payload.unpipe(body);
        payload.resume();
      }
    });
    done(null, body);
  });
}

function counted(payload: Body, hold: BodyHold): Transform & Body {
  let stopped = false;
  const output = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (stopped) return callback();
      try {
        hold.take(chunk.length);
      } catch (error) {
        stopped = true;
        payload.unpipe(output);
        payload.resume();
        output.destroy(error as Error);
        return callback();
      }
      callback(null, chunk);
    },
  });
  // fastify checks Content-Length against the wire's bytes, which an inflating stream counts.
  if (payload.receivedEncodedLength !== undefined)
    Object.defineProperty(output, 'receivedEncodedLength', { get: () => payload.receivedEncodedLength });
  // An error that comes when nobody reads (the reply already sent) must not crash the process.
  output.on('error', () => {});
  payload.on('error', (error) => output.destroy(error));
  payload.pipe(output);
  return output;
}
