import type { FastifyInstance } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import type { DeadLetters } from '../../workers/queue/dead-letters.js';
import { bodylessRoutes } from '../http/bodyless-routes.js';
import { adminOnly } from '../auth/authenticate.js';
import { docs, json, ANY_OBJECT } from '../openapi/route-docs.js';

/** Dead-letter inspection and requeue (distributed mode only: embedded mode never retries). */
export function adminRoutes(app: FastifyInstance, deadLetters: DeadLetters | undefined): void {
  const require = (): DeadLetters => {
    if (!deadLetters) throw new ServingError('not_in_this_mode', 'dead letters exist in distributed mode only (REDIS_URL)');
    return deadLetters;
  };
  const listDocs = docs({
    tag: 'admin',
    summary: 'Dead letters: jobs that failed every attempt (admin, distributed mode)',
    errors: ['forbidden', 'not_in_this_mode'],
    responses: {
      200: {
        description: 'The newest first.',
        content: json({ type: 'object', required: ['dead_letters'], properties: { dead_letters: { type: 'array', items: ANY_OBJECT } } }),
      },
    },
  });
  const schema = { querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } } };
  app.get<{ Querystring: { limit: number } }>(
    '/v2/admin/dead-letters',
    { onRequest: adminOnly, schema, config: listDocs },
    async (request) => {
      return { dead_letters: await require().list(request.query.limit) };
    },
  );
  const requeueDocs = docs({
    tag: 'admin',
    summary: 'Requeue a dead letter (admin, distributed mode)',
    errors: ['forbidden', 'not_in_this_mode', 'dead_letter_not_found'],
    responses: { 200: { description: 'Requeued.', content: json(ANY_OBJECT) } },
    bodyless: true,
  });
  bodylessRoutes(app, (scope) =>
    scope.post<{ Params: { id: string } }>(
      '/v2/admin/dead-letters/:id/requeue',
      { onRequest: adminOnly, config: requeueDocs },
      async (request) => {
        return require().requeue(request.params.id);
      },
    ),
  );
}
