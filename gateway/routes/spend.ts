import type { FastifyInstance } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import type { PolicyServices } from '../wiring/policy-services.js';

interface SpendQuerystring {
  tenant?: string;
  model?: string;
  from?: string;
  to?: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** GET /v1/spend: a tenant sees its own spend; an admin sees everyone's, filterable. */
export function spendRoutes(app: FastifyInstance, services: PolicyServices): void {
  app.get<{ Querystring: SpendQuerystring }>('/v1/spend', async (request) => {
    const tenant = request.tenant;
    if (!tenant) throw new ServingError('unauthorized', 'send Authorization: Bearer <key>');
    const today = new Date().toISOString().slice(0, 10);
    const from = request.query.from ?? `${today.slice(0, 8)}01`;
    const to = request.query.to ?? today;
    if (!DAY.test(from) || !DAY.test(to) || from > to) throw new ServingError('invalid_parameter', 'from and to are days (YYYY-MM-DD), from <= to');
    if ((Date.parse(to) - Date.parse(from)) / 86_400_000 > 366) throw new ServingError('invalid_parameter', 'a spend query covers at most 366 days');
    if (tenant.role !== 'admin' && request.query.tenant !== undefined && request.query.tenant !== tenant.name) {
      throw new ServingError('forbidden', 'a tenant sees its own spend only');
    }
    const who = tenant.role === 'admin' ? request.query.tenant : tenant.name;
    const entries = await services.ledger.query({ from, to, ...(who ? { tenant: who } : {}), ...(request.query.model ? { model: request.query.model } : {}) });
    const total = entries.reduce((sum, entry) => sum + entry.usd, 0);
    const budget = tenant.role !== 'admin' ? tenant.budget : undefined;
    return { from, to, total_usd: total, entries, ...(budget ? { budget: { usd: budget.usd, period: budget.period } } : {}) };
  });
}
