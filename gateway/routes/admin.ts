import type { FastifyInstance } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import type { DeadLetters } from '../../workers/queue/dead-letters.js';
import { bodylessRoutes } from '../http/bodyless-routes.js';
import { assertAdmin } from '../auth/authorize.js';

/** Dead-letter inspection and requeue (distributed mode only: embedded mode never retries). */
export function adminRoutes(app: FastifyInstance, deadLetters: DeadLetters | undefined): void {
  const require = (): DeadLetters => {
    if (!deadLetters) throw new ServingError('not_in_this_mode', 'dead letters exist in distributed mode only (REDIS_URL)');
    return deadLetters;
  };
  app.get<{ Querystring: { limit?: string } }>('/v2/admin/dead-letters', async (request) => {
    assertAdmin(request.tenant);
    const limit = request.query.limit === undefined ? 100 : Number(request.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ServingError('invalid_parameter', 'limit must be an integer from 1 to 1000');
    return { dead_letters: await require().list(limit) };
  });
  bodylessRoutes(app, (scope) =>
    scope.post<{ Params: { id: string } }>('/v2/admin/dead-letters/:id/requeue', async (request) => {
      assertAdmin(request.tenant);
      return require().requeue(request.params.id);
    }),
  );
}
