import type { PolicyServices } from '../wiring/policy-services.js';
import type { ServingBackend } from '../serving-backend.js';
import type { ConsoleSeries } from './console-series.js';

/** Everything the console's dashboard shows, in one admin request. */
export async function consoleOverview(backend: ServingBackend, services: PolicyServices, series: ConsoleSeries, now = new Date()) {
  const today = now.toISOString().slice(0, 10);
  // A fresh queue sample, so the newest point is current whatever the sampler's phase.
  const backlog = backend.backlog();
  for (const { model, waiting } of backlog) series.queued(model, waiting);
  const entries = await services.ledger.query({ from: today, to: today });
  const costByTenant = new Map<string, number>();
  for (const entry of entries) costByTenant.set(entry.tenant, (costByTenant.get(entry.tenant) ?? 0) + entry.usd);
  return {
    generated_at: now.toISOString(),
    models: (await backend.index()).map((entry) => ({
      ...entry,
      pool: backend.definition(entry.name)?.config.pool ?? '',
      waiting: backlog.find((queue) => queue.model === entry.name && queue.version === entry.version)?.waiting ?? 0,
    })),
    series: series.snapshot(),
    cost_today: [...costByTenant.entries()].map(([tenant, usd]) => ({ tenant, usd })).sort((a, b) => b.usd - a.usd),
    circuit_breakers: services.breakers.snapshot(),
  };
}
