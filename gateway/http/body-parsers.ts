import type { FastifyInstance } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';

export const AUDIO_TYPES = ['audio/wav', 'audio/x-wav', 'audio/wave'] as const;

/**
 * Bodies arrive as buffers and are parsed by the protocol layer, so a bad body gets a
 * Switchyard error rather than a framework one, and the binary extension can split the
 * JSON header from the tensor bytes. JSON is also accepted under curl's default form type.
 */
export function installBodyParsers(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  const asBuffer = (_request: unknown, body: Buffer, done: (error: Error | null, body?: Buffer) => void): void => done(null, body);
  // Images may be the whole body, for models whose one input is an image; WAV files, for pipelines that take audio.
  for (const type of ['application/json', 'application/octet-stream', 'text/plain', 'application/x-www-form-urlencoded', 'image/png', 'image/jpeg', 'image/webp', ...AUDIO_TYPES]) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit }, asBuffer);
  }
  app.addContentTypeParser('*', (request, _payload, done) => {
    done(new ServingError('unsupported_media_type', `Content-Type "${request.headers['content-type'] ?? ''}" is not supported: send application/json, application/octet-stream with the binary extension, an image (image/png, image/jpeg, image/webp), a WAV file (audio/wav, to pipelines) or multipart/form-data`));
  });
}
