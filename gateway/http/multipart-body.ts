import { Busboy } from '@fastify/busboy';
import type { FastifyInstance } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';

/** A multipart form, read whole: file fields in order, plus the plain fields. */
export class MultipartBody {
  constructor(
    readonly files: readonly { readonly field: string; readonly data: Buffer }[],
    readonly fields: Readonly<Record<string, string>>,
  ) {}
}

const tooLarge = (): ServingError => new ServingError('body_too_large', 'the multipart body is larger than MAX_BODY_BYTES');

/**
 * Reads multipart/form-data with @fastify/busboy as a body parser: no per-request hooks
 * on the other routes (the @fastify/multipart plugin adds two to every request). The
 * whole body, every file and field together, is capped at `bodyLimit`; every stream's
 * error ends the request with a 400, never the process.
 */
export function installMultipartParser(app: FastifyInstance, bodyLimit: number): void {
  app.addContentTypeParser('multipart/form-data', (request, payload, done) => {
    if (Number(request.headers['content-length']) > bodyLimit) return done(tooLarge());
    let parser: ReturnType<typeof Busboy>;
    try {
      parser = Busboy({
        headers: { ...request.headers, 'content-type': request.headers['content-type'] ?? '' },
        limits: { fileSize: bodyLimit, files: 64, fields: 4 },
      });
    } catch {
      return done(new ServingError('invalid_request', 'unreadable multipart form: bad Content-Type boundary'));
    }
    const files: { field: string; data: Buffer }[] = [];
    const fields: Record<string, string> = {};
    let failed = false;
    let received = 0;
    const fail = (error: Error): void => {
      if (failed) return;
      failed = true;
      // Not drained: the error reply discards a little more of the body at most, then cuts the connection.
      payload.unpipe(parser);
      payload.removeListener('data', count);
      done(error);
    };
    const count = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > bodyLimit) fail(tooLarge());
    };
    payload.on('data', count);
    payload.on('error', () => fail(new ServingError('invalid_request', 'the multipart body was cut off')));
    parser.on('file', (field, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        if (!failed) chunks.push(chunk);
      });
      stream.on('error', () =>
        fail(new ServingError('invalid_request', `unreadable multipart form: file in field "${field.slice(0, 64)}" ends early`)),
      );
      stream.on('limit', () => fail(tooLarge()));
      stream.on('end', () => files.push({ field, data: Buffer.concat(chunks) }));
    });
    parser.on('field', (field, value) => {
      fields[field] = value;
    });
    parser.on('filesLimit', () => fail(new ServingError('invalid_request', 'a multipart form may hold at most 64 files')));
    parser.on('fieldsLimit', () => fail(new ServingError('invalid_request', 'a multipart form may hold at most 4 plain fields')));
    parser.on('error', () => fail(new ServingError('invalid_request', 'unreadable multipart form: malformed or cut-off parts')));
    parser.on('finish', () => {
      if (!failed) done(null, new MultipartBody(files, fields));
    });
    payload.pipe(parser);
  });
}
