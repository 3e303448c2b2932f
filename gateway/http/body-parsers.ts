import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import { MEDIA_TYPE_NAMES } from './media-types.js';

/** Body types read as bytes. text/plain and form types are not among them: a browser sends those cross-site without asking. */
const BUFFERED_TYPES = ['application/json', 'application/octet-stream', ...MEDIA_TYPE_NAMES];

/**
 * Bodies arrive as buffers and are parsed by the protocol layer, so a bad body gets a
 * Switchyard error rather than a framework one, and the binary extension can split the
 * JSON header from the tensor bytes. A body with no Content-Type at all is OIP, as Triton
 * reads it (tritonclient sends none): JSON, or the binary extension with its header length.
 */
export function installBodyParsers(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  const asBuffer = (_request: unknown, body: Buffer, done: (error: Error | null, body?: Buffer) => void): void => done(null, body);
  // Images may be the whole body, for models whose one input is an image; WAV files, for pipelines that take audio.
  for (const type of BUFFERED_TYPES) app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit }, asBuffer);
  // The catch-all parser is also the one fastify calls for a body with no Content-Type.
  app.addContentTypeParser('*', (request, payload, done) => {
    const type = request.headers['content-type'];
    if (type === undefined) {
      // Refused unread when the declared length is already over the limit, as fastify's own parsers do.
      if (Number(request.headers['content-length']) > bodyLimit) return done(tooLarge(bodyLimit));
      return readWhole(payload, bodyLimit, done);
    }
    done(new ServingError('unsupported_media_type', `this Content-Type is not supported: ${SUPPORTED}`));
  });
}

const SUPPORTED =
  'send application/json (or no Content-Type), application/octet-stream (the binary extension to models, ' +
  "a pipeline's one image or WAV input to tasks), an image (image/png, image/jpeg, image/webp), " +
  'a WAV file (audio/wav, to pipelines) or multipart/form-data';

const tooLarge = (limit: number): ServingError =>
  new ServingError('body_too_large', `the body is larger than MAX_BODY_BYTES (${limit} bytes)`);

function readWhole(payload: Readable, limit: number, done: (error: Error | null, body?: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (error: Error | null, body?: Buffer): void => {
    if (finished) return;
    finished = true;
    chunks.length = 0;
    done(error, body);
  };
  payload.on('data', (chunk: Buffer) => {
    if (finished) return;
    size += chunk.length;
    if (size > limit) return finish(tooLarge(limit));
    chunks.push(chunk);
  });
  payload.on('end', () => finish(null, Buffer.concat(chunks, size)));
  payload.on('error', (error) =>
    finish(error instanceof ServingError ? error : new ServingError('invalid_request', 'the body could not be read to its end')),
  );
}
