import { Transform, type Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';

const INFLATERS: Readonly<Record<string, () => Transform>> = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate };

/** What fastify reads the body from, with the bytes that came over the wire counted for its Content-Length check. */
type Decoded = Readable & { receivedEncodedLength: number };

/**
 * Request bodies sent with `Content-Encoding: gzip` or `deflate` (tritonclient's
 * request_compression_algorithm) are inflated as they arrive. The body limit counts the
 * inflated bytes, and inflating stops at the limit: a small gzip bomb is a 413, not a
 * gigabyte in memory or seconds of zlib work.
 */
export function installRequestDecoding(app: FastifyInstance, bodyLimit: number): void {
  app.addHook('preParsing', (request, reply, payload, done) => {
    const header = request.headers['content-encoding'];
    const encoding = (header ?? '').trim().toLowerCase();
    if (encoding === '' || encoding === 'identity') return done(null, payload);
    const inflater = INFLATERS[encoding];
    if (!inflater) {
      return done(
        new ServingError(
          'unsupported_media_type',
          `Content-Encoding "${encoding.slice(0, 40)}" is not supported: send gzip, deflate or none`,
        ),
      );
    }
    const body = inflated(payload, inflater(), encoding, bodyLimit);
    // A reply sent before the body is read (a 401, a 404) leaves nothing waiting on the inflater.
    reply.raw.once('close', () => body.abandon());
    done(null, body);
  });
}

function inflated(payload: Readable, inflate: Transform, encoding: string, limit: number): Decoded & { abandon(): void } {
  let size = 0;
  let stopped = false;
  const stop = (error?: ServingError): void => {
    if (stopped) return;
    stopped = true;
    payload.unpipe(inflate);
    inflate.destroy();
    // The rest of the upload is read and dropped, so the error reply still reaches the client.
    payload.resume();
    output.destroy(error);
  };
  const output = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > limit) {
        stop(new ServingError('body_too_large', `the ${encoding} body inflates to more than MAX_BODY_BYTES (${limit} bytes)`));
        return callback();
      }
      callback(null, chunk);
    },
  }) as Transform & Decoded & { abandon(): void };
  output.receivedEncodedLength = 0;
  output.abandon = () => {
    if (!output.readableEnded) stop();
  };
  // The body's reader listens for errors while it reads; one that comes when nobody reads must not crash the process.
  output.on('error', () => {});
  payload.on('data', (chunk: Buffer) => {
    output.receivedEncodedLength += chunk.length;
  });
  inflate.on('error', () => stop(new ServingError('invalid_request', `the body is not valid ${encoding} data`)));
  payload.on('error', (error) => output.destroy(error));
  payload.pipe(inflate).pipe(output);
  return output;
}
