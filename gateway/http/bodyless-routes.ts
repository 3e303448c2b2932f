import type { FastifyInstance } from 'fastify';

/**
 * Registers routes that take no body in a scope whose only content-type parser reads
 * nothing: whatever body a caller sends is never parsed or buffered (it is discarded
 * unread, or the connection closes).
 */
export function bodylessRoutes(app: FastifyInstance, routes: (scope: FastifyInstance) => void): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    routes(scope);
  });
}
