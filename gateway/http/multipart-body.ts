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

/**
 * Reads multipart/form-data with @fastify/busboy as a body parser: no per-request hooks
 * on the other routes (the @fastify/multipart plugin adds two to every request).
 */
export function installMultipartParser(app: FastifyInstance, bodyLimit: number): void {
  app.addContentTypeParser('multipart/form-data', (request, payload, done) => {
    let parser;
    try {
      parser = Busboy({ headers: { ...request.headers, 'content-type': request.headers['content-type'] ?? '' }, limits: { fileSize: bodyLimit, files: 64, fields: 4 } });
    } catch (error) {
      return done(new ServingError('invalid_request', `unreadable multipart form: ${(error as Error).message}`));
    }
    const files: { field: string; data: Buffer }[] = [];
    const fields: Record<string, string> = {};
    let failed = false;
    const fail = (error: Error): void => {
      if (failed) return;
      failed = true;
      payload.unpipe(parser);
      payload.resume();
      done(error);
    };
    parser.on('file', (field, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => fail(new ServingError('body_too_large', `file in field "${field}" is larger than MAX_BODY_BYTES`)));
      stream.on('end', () => files.push({ field, data: Buffer.concat(chunks) }));
    });
    parser.on('field', (field, value) => {
      fields[field] = value;
    });
    parser.on('error', (error) => fail(new ServingError('invalid_request', `unreadable multipart form: ${(error as Error).message}`)));
    parser.on('finish', () => {
      if (!failed) done(null, new MultipartBody(files, fields));
    });
    payload.pipe(parser);
  });
}
