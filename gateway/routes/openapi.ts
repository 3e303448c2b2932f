import type { FastifyInstance } from 'fastify';
import { docs, json } from '../openapi/route-docs.js';

/**
 * GET /openapi.json: the OpenAPI 3.1 document of every route, without a key (like the
 * console page: the same for every caller, nothing secret). Written once, on first request.
 */
export function openApiRoutes(app: FastifyInstance): void {
  let document: string | undefined;
  app.get(
    '/openapi.json',
    {
      config: docs({
        tag: 'docs',
        summary: 'This OpenAPI 3.1 document',
        responses: { 200: { description: 'The document.', content: json({ type: 'object', required: ['openapi', 'paths'] }) } },
      }),
    },
    async (_request, reply) => {
      document ??= JSON.stringify(app.swagger());
      return reply.type('application/json; charset=utf-8').send(document);
    },
  );
}
