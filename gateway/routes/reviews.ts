import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import { bodylessRoutes } from '../http/bodyless-routes.js';
import { assertAdmin } from '../auth/authorize.js';
import type { PolicyServices } from '../wiring/policy-services.js';
import { readResolveBody } from '../review/resolve-body.js';
import { exportLine, type ReviewItem, type ReviewOutcome, type ReviewState } from '../review/review-item.js';
import type { ReviewFilter } from '../review/review-store.js';
import { reviewStats } from '../review/review-stats.js';
import type { TaskService } from '../tasks/task-service.js';

interface ListQuery {
  route?: string;
  state?: string;
  older_than_s?: string;
  newer_than_s?: string;
  limit?: string;
}

const STATES: readonly string[] = ['pending', 'claimed', 'resolved'];
/** Exports and stats read every retained item (the memory store caps them at 10,000). */
const ALL = 1_000_000;

function filterFrom(query: ListQuery, defaultLimit: number): ReviewFilter {
  const seconds = (name: 'older_than_s' | 'newer_than_s'): number | undefined => {
    const value = query[name];
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new ServingError('invalid_parameter', `${name} must be a number of seconds >= 0`);
    return n;
  };
  if (query.state !== undefined && !STATES.includes(query.state)) throw new ServingError('invalid_parameter', 'state is pending, claimed or resolved');
  const limit = query.limit === undefined ? defaultLimit : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > Math.max(defaultLimit, 1000)) throw new ServingError('invalid_parameter', 'limit must be an integer from 1 to 1000');
  const now = Date.now();
  const older = seconds('older_than_s');
  const newer = seconds('newer_than_s');
  return {
    limit,
    ...(query.route !== undefined ? { route: query.route } : {}),
    ...(query.state !== undefined ? { state: query.state as ReviewState } : {}),
    ...(older !== undefined ? { createdBefore: now - older * 1000 } : {}),
    ...(newer !== undefined ? { createdAfter: now - newer * 1000 } : {}),
  };
}

/**
 * The review queue: admins (any tenant with role admin) list, claim and resolve items;
 * the reviewer is the calling tenant's name. Every call is audited with its action and
 * reviewer once it is answered (refusals included), from the routes' own onResponse.
 */
export function reviewRoutes(app: FastifyInstance, services: PolicyServices, tasks: TaskService | undefined): void {
  const store = services.reviews;
  const audited = (action: string) => ({
    onResponse: (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
      const details = request.audit ?? {};
      services.audit
        .append({
          time: new Date().toISOString(),
          requestId: request.id,
          tenant: request.tenant?.name ?? 'unauthenticated',
          route: details.route ?? '',
          status: reply.statusCode,
          ...(request.errorCode ? { code: request.errorCode } : {}),
          costUsd: 0,
          latencyMs: Math.round(reply.elapsedTime * 1000) / 1000,
          action,
          ...(request.tenant ? { reviewer: request.tenant.name } : {}),
          ...(details.reviewId !== undefined ? { reviewId: details.reviewId } : {}),
        })
        .catch((error: unknown) => request.log.error({ err: error }, 'audit write failed'));
      done();
    },
  });

  const settle = (request: FastifyRequest, outcome: ReviewOutcome, verb: string): ReviewItem => {
    if (outcome.kind === 'not_found') throw new ServingError('review_not_found', `no review item "${(request.params as { id: string }).id}"`);
    request.audit = { ...request.audit, route: outcome.item.route };
    if (outcome.kind === 'conflict') {
      const { item } = outcome;
      const why = item.state === 'resolved' ? `it was resolved by "${item.resolved_by}"` : item.state === 'claimed' ? `it is claimed by "${item.claimed_by}"` : 'it is not claimed: claim it first';
      throw new ServingError('review_conflict', `cannot ${verb} review item "${item.id}": ${why}`);
    }
    return outcome.item;
  };

  app.get<{ Querystring: ListQuery }>('/v1/reviews', audited('review.list'), async (request) => {
    assertAdmin(request.tenant);
    const filter = filterFrom(request.query, 100);
    if (filter.route !== undefined) request.audit = { route: filter.route };
    return { items: await store.list(filter) };
  });

  app.get('/v1/reviews/stats', audited('review.stats'), async (request) => {
    assertAdmin(request.tenant);
    const [counts, items] = await Promise.all([store.counts(), store.list({ limit: ALL })]);
    return { routes: reviewStats(counts, items) };
  });

  app.get<{ Querystring: ListQuery }>('/v1/reviews/export', audited('review.export'), async (request, reply) => {
    assertAdmin(request.tenant);
    const filter = filterFrom({ ...request.query, state: request.query.state ?? 'resolved' }, ALL);
    if (filter.state !== 'resolved') throw new ServingError('invalid_parameter', 'only resolved items are exported (state=resolved)');
    const items = await store.list(filter);
    return reply.type('application/x-ndjson').send(items.map(exportLine).join(''));
  });

  app.get<{ Params: { id: string } }>('/v1/reviews/:id', audited('review.get'), async (request) => {
    assertAdmin(request.tenant);
    request.audit = { reviewId: request.params.id };
    const item = await store.get(request.params.id);
    if (!item) throw new ServingError('review_not_found', `no review item "${request.params.id}"`);
    request.audit.route = item.route;
    return item;
  });

  bodylessRoutes(app, (scope) =>
    scope.post<{ Params: { id: string } }>('/v1/reviews/:id/claim', audited('review.claim'), async (request) => {
      const reviewer = assertAdmin(request.tenant).name;
      request.audit = { reviewId: request.params.id };
      return settle(request, await store.claim(request.params.id, reviewer, new Date().toISOString()), 'claim');
    }),
  );

  app.post<{ Params: { id: string } }>('/v1/reviews/:id/resolve', audited('review.resolve'), async (request) => {
    const reviewer = assertAdmin(request.tenant).name;
    request.audit = { reviewId: request.params.id };
    const { decision, humanOutput } = readResolveBody(request.body);
    const resolution = { decision, at: new Date().toISOString(), ...(humanOutput !== undefined ? { humanOutput } : {}) };
    const item = settle(request, await store.resolve(request.params.id, reviewer, resolution), 'resolve');
    // Every gateway built by server.ts has a task service; only bare test apps lack one.
    if (item.task_id !== undefined) await tasks?.completeReview(item);
    return item;
  });
}
