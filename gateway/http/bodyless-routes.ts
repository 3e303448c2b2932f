import type { FastifyInstance } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';

/** What a browser sends cross-site without asking first: refused, even where nothing would be read. */
const CROSS_SITE_TYPES = /^\s*(text\/plain|application\/x-www-form-urlencoded|multipart\/form-data)\s*(;|$)/i;

/**
 * Registers routes that take no body in a scope whose only content-type parser reads
 * nothing: whatever body a caller sends is never parsed or buffered (it is discarded
 * unread, or the connection closes).
 */
export function bodylessRoutes(app: FastifyInstance, routes: (scope: FastifyInstance) => void): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (request, _payload, done) => {
      const type = request.headers['content-type'];
      if (type !== undefined && CROSS_SITE_TYPES.test(type))
        return done(new ServingError('unsupported_media_type', 'this endpoint takes no body, and never a form or text/plain one'));
      done(null, undefined);
    });
    routes(scope);
  });
}
