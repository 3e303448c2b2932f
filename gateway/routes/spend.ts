import type { FastifyInstance } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import type { PolicyServices } from '../wiring/policy-services.js';
import { docs, json, ANY_OBJECT } from '../openapi/route-docs.js';

const DAY_SCHEMA = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'A UTC day, YYYY-MM-DD.' } as const;
const QUERY = {
  type: 'object',
  properties: {
    tenant: { type: 'string', description: "Admins: one tenant's spend; others may name only themselves." },
    model: { type: 'string' },
    from: { ...DAY_SCHEMA, description: 'First day (default: the first of this month); at most 366 days before `to`.' },
    to: { ...DAY_SCHEMA, description: 'Last day (default: today).' },
  },
} as const;
const SPEND_DOCS = docs({
  tag: 'spend',
  summary: "Spend by day, tenant and model: a tenant's own, or (admin) everyone's",
  errors: ['forbidden'],
  responses: {
    200: {
      description: 'Entries and their total.',
      content: json({
        type: 'object',
        required: ['from', 'to', 'total_usd', 'entries'],
        properties: {
          from: { type: 'string' },
          to: { type: 'string' },
          total_usd: { type: 'number' },
          entries: { type: 'array', items: ANY_OBJECT },
          budget: ANY_OBJECT,
        },
      }),
    },
  },
});

interface SpendQuerystring {
  tenant?: string;
  model?: string;
  from?: string;
  to?: string;
}

/** GET /v1/spend: a tenant sees its own spend; an admin sees everyone's, filterable. */
export function spendRoutes(app: FastifyInstance, services: PolicyServices): void {
  app.get<{ Querystring: SpendQuerystring }>('/v1/spend', { schema: { querystring: QUERY }, config: SPEND_DOCS }, async (request) => {
    const tenant = request.tenant;
    if (!tenant) throw new ServingError('unauthorized', 'send Authorization: Bearer <key>');
    const today = new Date().toISOString().slice(0, 10);
    const from = request.query.from ?? `${today.slice(0, 8)}01`;
    const to = request.query.to ?? today;
    if (from > to || Number.isNaN(Date.parse(from)) || Number.isNaN(Date.parse(to)))
      throw new ServingError('invalid_parameter', 'from and to are days (YYYY-MM-DD), from <= to');
    if ((Date.parse(to) - Date.parse(from)) / 86_400_000 > 366)
      throw new ServingError('invalid_parameter', 'a spend query covers at most 366 days');
    if (tenant.role !== 'admin' && request.query.tenant !== undefined && request.query.tenant !== tenant.name) {
      throw new ServingError('forbidden', 'a tenant sees its own spend only');
    }
    const who = tenant.role === 'admin' ? request.query.tenant : tenant.name;
    const entries = await services.ledger.query({
      from,
      to,
      ...(who ? { tenant: who } : {}),
      ...(request.query.model ? { model: request.query.model } : {}),
    });
    const total = entries.reduce((sum, entry) => sum + entry.usd, 0);
    const budget = tenant.role !== 'admin' ? tenant.budget : undefined;
    return { from, to, total_usd: total, entries, ...(budget ? { budget: { usd: budget.usd, period: budget.period } } : {}) };
  });
}
