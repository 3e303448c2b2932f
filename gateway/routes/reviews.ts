import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import { bodylessRoutes } from '../http/bodyless-routes.js';
import { adminOnly } from '../auth/authenticate.js';
import type { PolicyServices } from '../wiring/policy-services.js';
import { readResolveBody, RESOLVE_BODY_SCHEMA } from '../review/resolve-body.js';
import { exportLine, type ReviewItem, type ReviewOutcome, type ReviewState } from '../review/review-item.js';
import type { ReviewFilter } from '../review/review-store.js';
import { reviewStats } from '../review/review-stats.js';
import type { TaskService } from '../tasks/task-service.js';
import { docs, json, type JsonSchema, type RouteDocs } from '../openapi/route-docs.js';

interface ListQuery {
  route?: string;
  state?: ReviewState;
  older_than_s?: number;
  newer_than_s?: number;
  limit?: number;
}

/** Exports and stats read every retained item (the memory store caps them at 10,000). */
const ALL = 1_000_000;

/** The list's and the export's filters, checked by fastify (ajv) before the handler runs. */
const listQuery = (limit: { maximum: number; default?: number }, state: readonly ReviewState[]) => ({
  querystring: {
    type: 'object',
    properties: {
      route: { type: 'string' },
      state: { enum: state },
      older_than_s: { type: 'number', minimum: 0, description: 'Created at least this many seconds ago.' },
      newer_than_s: { type: 'number', minimum: 0, description: 'Created at most this many seconds ago.' },
      limit: { type: 'integer', minimum: 1, ...limit },
    },
  },
});
const ITEM = {
  type: 'object',
  required: ['id', 'route', 'state'],
  properties: { id: { type: 'string' }, route: { type: 'string' }, state: { enum: ['pending', 'claimed', 'resolved'] } },
};
const ID = { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } as const;
// An id is looked up by hand (review_not_found): described, not validated by ajv.
const reviewDocs = (summary: string, errors: RouteDocs['errors'], content: Record<string, JsonSchema>, extra: Partial<RouteDocs> = {}) =>
  docs({
    tag: 'reviews',
    summary,
    errors: ['forbidden', ...(errors ?? [])],
    responses: { 200: { description: 'OK.', content } },
    ...extra,
  });

function filterFrom(query: ListQuery, defaultLimit: number): ReviewFilter {
  const now = Date.now();
  const older = query.older_than_s;
  const newer = query.newer_than_s;
  return {
    limit: query.limit ?? defaultLimit,
    ...(query.route !== undefined ? { route: query.route } : {}),
    ...(query.state !== undefined ? { state: query.state } : {}),
    ...(older !== undefined ? { createdBefore: now - older * 1000 } : {}),
    ...(newer !== undefined ? { createdAfter: now - newer * 1000 } : {}),
  };
}

/**
 * The review queue: admins (any tenant with role admin) list, claim and resolve items;
 * the reviewer is the calling tenant's name. Every route is admin-only (403 before its
 * parameters are looked at) and every call is audited with its action and reviewer once it
 * is answered (refusals included), from the routes' own onResponse.
 */
export function reviewRoutes(app: FastifyInstance, services: PolicyServices, tasks: TaskService | undefined): void {
  const store = services.reviews;
  const adminRoute = (action: string) => ({
    onRequest: adminOnly,
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
    if (outcome.kind === 'not_found')
      throw new ServingError('review_not_found', `no review item "${(request.params as { id: string }).id}"`);
    request.audit = { ...request.audit, route: outcome.item.route };
    if (outcome.kind === 'conflict') {
      const { item } = outcome;
      const why =
        item.state === 'resolved'
          ? `it was resolved by "${item.resolved_by}"`
          : item.state === 'claimed'
            ? `it is claimed by "${item.claimed_by}"`
            : 'it is not claimed: claim it first';
      throw new ServingError('review_conflict', `cannot ${verb} review item "${item.id}": ${why}`);
    }
    return outcome.item;
  };

  const listDocs = reviewDocs(
    'Review items, newest first (admin)',
    [],
    json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ITEM } } }),
  );
  app.get<{ Querystring: ListQuery }>(
    '/v1/reviews',
    {
      ...adminRoute('review.list'),
      schema: listQuery({ maximum: 1000, default: 100 }, ['pending', 'claimed', 'resolved']),
      config: listDocs,
    },
    async (request) => {
      const filter = filterFrom(request.query, 100);
      if (filter.route !== undefined) request.audit = { route: filter.route };
      return { items: await store.list(filter) };
    },
  );

  const statsDocs = reviewDocs(
    'Review counts and agreement by route (admin)',
    [],
    json({ type: 'object', required: ['routes'], properties: { routes: {} } }),
  );
  app.get('/v1/reviews/stats', { ...adminRoute('review.stats'), config: statsDocs }, async () => {
    const [counts, items] = await Promise.all([store.counts(), store.list({ limit: ALL })]);
    return { routes: reviewStats(counts, items) };
  });

  const exportDocs = reviewDocs('Resolved items as training data, one JSON line each (admin)', [], {
    'application/x-ndjson': { type: 'string' },
  });
  app.get<{ Querystring: ListQuery }>(
    '/v1/reviews/export',
    { ...adminRoute('review.export'), schema: listQuery({ maximum: ALL }, ['resolved']), config: exportDocs },
    async (request, reply) => {
      const filter = filterFrom({ ...request.query, state: 'resolved' }, ALL);
      const items = await store.list(filter);
      return reply.type('application/x-ndjson').send(items.map(exportLine).join(''));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/reviews/:id',
    {
      ...adminRoute('review.get'),
      config: reviewDocs('A review item (admin)', ['review_not_found'], json(ITEM), { handChecked: { params: ID } }),
    },
    async (request) => {
      request.audit = { reviewId: request.params.id };
      const item = await store.get(request.params.id);
      if (!item) throw new ServingError('review_not_found', `no review item "${request.params.id}"`);
      request.audit.route = item.route;
      return item;
    },
  );

  bodylessRoutes(app, (scope) =>
    scope.post<{ Params: { id: string } }>(
      '/v1/reviews/:id/claim',
      {
        ...adminRoute('review.claim'),
        config: reviewDocs('Claim an item to review it (admin)', ['review_not_found', 'review_conflict'], json(ITEM), {
          bodyless: true,
          handChecked: { params: ID },
        }),
      },
      async (request) => {
        const reviewer = request.tenant!.name;
        request.audit = { reviewId: request.params.id };
        return settle(request, await store.claim(request.params.id, reviewer, new Date().toISOString()), 'claim');
      },
    ),
  );

  const resolveDocs = reviewDocs(
    'Resolve a claimed item: approve it, or correct its output (admin)',
    ['review_not_found', 'review_conflict', 'empty_body', 'invalid_json', 'invalid_parameter'],
    json(ITEM),
    {
      handChecked: { params: ID, body: json(RESOLVE_BODY_SCHEMA) },
    },
  );
  app.post<{ Params: { id: string } }>(
    '/v1/reviews/:id/resolve',
    { ...adminRoute('review.resolve'), config: resolveDocs },
    async (request) => {
      const reviewer = request.tenant!.name;
      request.audit = { reviewId: request.params.id };
      const { decision, humanOutput } = readResolveBody(request.body);
      const resolution = { decision, at: new Date().toISOString(), ...(humanOutput !== undefined ? { humanOutput } : {}) };
      const item = settle(request, await store.resolve(request.params.id, reviewer, resolution), 'resolve');
      // Every gateway built by server.ts has a task service; only bare test apps lack one.
      if (item.task_id !== undefined) await tasks?.completeReview(item);
      return item;
    },
  );
}
