import { defaultVersion } from '../../workers/repository/model-config.js';
import type { PolicyServices } from '../wiring/policy-services.js';
import type { ServingBackend } from '../serving-backend.js';
import type { PipelineConfig } from '../pipelines/pipeline-config.js';
import type { ConsoleSeries } from './console-series.js';

/** A chart row: every configured route and pipeline is listed before its first call. */
interface Target {
  readonly target: string;
  readonly kind: 'route' | 'pipeline' | 'model';
  /** What the target runs: a route's tiers, a pipeline's steps. */
  readonly detail: string;
}

function configuredTargets(backend: ServingBackend, services: PolicyServices, pipelines: readonly PipelineConfig[]): Target[] {
  const marks = (model: string, version: string | undefined): string => {
    const config = backend.definition(model)?.config;
    if (!config || version === undefined) return '';
    const tags = [
      config.versions[version]?.weights.source === 'quantized' ? 'int8' : '',
      defaultVersion(config) === version ? 'default' : '',
    ];
    return tags
      .filter(Boolean)
      .map((tag) => ` (${tag})`)
      .join('');
  };
  const routes = services.policy.routes.map(
    (route): Target => ({
      target: route.name,
      kind: 'route',
      detail: route.tiers
        .map((tier) => `${tier.name}: ${tier.model} v${tier.version ?? 'default'}${marks(tier.model, tier.version)}`)
        .join(' → '),
    }),
  );
  const tasks = pipelines.map(
    (pipeline): Target => ({
      target: `task:${pipeline.name}`,
      kind: 'pipeline',
      detail: pipeline.steps.map((step) => ('model' in step ? step.model : step.transform)).join(' → '),
    }),
  );
  return [...routes, ...tasks];
}

/** Everything the console's dashboard shows, in one admin request. */
export async function consoleOverview(
  backend: ServingBackend,
  services: PolicyServices,
  series: ConsoleSeries,
  pipelines: readonly PipelineConfig[] = [],
  now = new Date(),
) {
  const today = now.toISOString().slice(0, 10);
  // A fresh queue sample, so the newest point is current whatever the sampler's phase.
  const backlog = backend.backlog();
  for (const { model, waiting } of backlog) series.queued(model, waiting);
  const entries = await services.ledger.query({ from: today, to: today });
  const costByTenant = new Map<string, number>();
  for (const entry of entries) costByTenant.set(entry.tenant, (costByTenant.get(entry.tenant) ?? 0) + entry.usd);
  const recorded = new Map(series.snapshot().map((entry) => [entry.target, entry.points]));
  const configured = configuredTargets(backend, services, pipelines);
  const listed = new Set(configured.map((entry) => entry.target));
  const others = [...recorded.keys()]
    .filter((target) => !listed.has(target))
    .map((target): Target => ({ target, kind: 'model', detail: '' }));
  return {
    generated_at: now.toISOString(),
    window_ms: series.windowMs,
    bucket_ms: series.bucketMs,
    models: (await backend.index()).map((entry) => {
      const config = backend.definition(entry.name)?.config;
      const version = entry.version;
      return {
        ...entry,
        pool: config?.pool ?? '',
        default: config !== undefined && version !== undefined && defaultVersion(config) === version,
        int8: version !== undefined && config?.versions[version]?.weights.source === 'quantized',
        waiting: backlog.find((queue) => queue.model === entry.name && queue.version === entry.version)?.waiting ?? 0,
      };
    }),
    series: [...configured, ...others].map((entry) => ({ ...entry, points: recorded.get(entry.target) ?? [] })),
    cost_today: [...costByTenant.entries()].map(([tenant, usd]) => ({ tenant, usd })).sort((a, b) => b.usd - a.usd),
    circuit_breakers: services.breakers.snapshot(),
  };
}
