import { Gauge, type Registry } from 'prom-client';
import { METRIC_PREFIX } from '../../workers/metrics/registry.js';
import { periodId, toPico } from '../budget/budget-store.js';
import type { PolicyServices } from '../wiring/policy-services.js';
import { reviewStats } from '../review/review-stats.js';

const name = (suffix: string): string => `${METRIC_PREFIX}${suffix}`;

/**
 * Families read from the policy stores at scrape time, so they agree with the stores in
 * both modes (in distributed mode every gateway reports the shared figures: aggregate
 * them with max, not sum): budget use per tenant, and the review queue per route.
 */
export function registerStoreMetrics(registry: Registry, services: PolicyServices): void {
  const registers = [registry];
  const budgeted = services.policy.tenants.filter((tenant) => tenant.budget);
  if (budgeted.length > 0) {
    new Gauge({
      name: name('budget_used_ratio'),
      help: 'Spent over budget in the current period, per tenant with a budget',
      labelNames: ['tenant'],
      registers,
      async collect() {
        for (const tenant of budgeted) {
          const budget = tenant.budget!;
          const { spentPico } = await services.budgets.usage(tenant.name, periodId(budget.period));
          this.set({ tenant: tenant.name }, budget.usd > 0 ? spentPico / toPico(budget.usd) : 1);
        }
      },
    });
  }
  const reviewed = services.policy.routes.filter((route) => route.review);
  if (reviewed.length === 0) return;
  // One store read per scrape, shared by the four families below.
  let pending: Promise<ReturnType<typeof reviewStats>> | undefined;
  const stats = (): Promise<ReturnType<typeof reviewStats>> => {
    pending ??= (async () => reviewStats(await services.reviews.counts(), await services.reviews.list({ limit: 10_000 })))().finally(() => {
      setImmediate(() => (pending = undefined));
    });
    return pending;
  };
  const perRoute = (
    suffix: string,
    help: string,
    value: (entry: ReturnType<typeof reviewStats>[string]) => number | null,
    extra: Record<string, string> = {},
  ): void => {
    new Gauge({
      name: name(suffix),
      help,
      labelNames: ['route', ...Object.keys(extra)],
      registers,
      async collect() {
        const all = await stats();
        for (const route of reviewed) {
          const entry = all[route.name];
          const figure = entry ? value(entry) : 0;
          if (figure !== null) this.set({ route: route.name, ...extra }, figure);
        }
      },
    });
  };
  perRoute(
    'review_routed_total',
    "Answers given on routes with review (the review rate's denominator; a store counter)",
    (entry) => entry.requests,
  );
  perRoute('review_items_total', 'Review items created (a store counter)', (entry) => entry.items);
  perRoute('review_pending', 'Review items waiting for a reviewer (pending or claimed)', (entry) => entry.pending + entry.claimed);
  new Gauge({
    name: name('review_resolution_seconds'),
    help: 'Time from review item to resolution over the retained resolved items (quantile 0.5 and 0.9)',
    labelNames: ['route', 'quantile'],
    registers,
    async collect() {
      const all = await stats();
      for (const route of reviewed) {
        const entry = all[route.name];
        if (entry?.resolution_seconds.median != null) this.set({ route: route.name, quantile: '0.5' }, entry.resolution_seconds.median);
        if (entry?.resolution_seconds.p90 != null) this.set({ route: route.name, quantile: '0.9' }, entry.resolution_seconds.p90);
      }
    },
  });
}
