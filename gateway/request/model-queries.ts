import { ModelState } from '../../workers/pool/model-state.js';
import { ServingError } from '../../workers/protocol/errors.js';
import type { ModelDefinition } from '../../workers/repository/load-repository.js';
import { servedVersions } from '../../workers/repository/model-config.js';
import { assertMayCall } from '../auth/authorize.js';
import type { RouteConfig, Tenant } from '../policy/policy-config.js';
import { resolveModel } from '../routing/resolve-model.js';
import type { ServingBackend } from '../serving-backend.js';
import { tritonConfig } from '../protocol/triton-config.js';
import type { VersionStatistics } from '../../workers/pool/statistics.js';

/** A model's metadata, readiness and configuration, the same answers for HTTP and gRPC. */
export interface ModelQuery {
  readonly tenant: Tenant | undefined;
  readonly name: string;
  readonly version?: string;
}

/** Triton's platform names, and the TF.js formats' equivalents. */
export function platformName(config: ModelDefinition['config']): string {
  if (config.platform === 'onnx') return 'onnxruntime_onnx';
  return config.format === 'saved_model' ? 'tensorflow_savedmodel' : `tfjs_${config.format ?? 'graph'}_model`;
}

/** A route answers for its first tier (its configuration: modelConfiguration), so OIP clients can use route names as model names. */
function resolveNamed(backend: ServingBackend, routes: readonly RouteConfig[], query: ModelQuery) {
  assertMayCall(query.tenant, query.name);
  const route = routes.find((candidate) => candidate.name === query.name);
  if (!route) return { ...resolveModel(backend, query.name, query.version), name: query.name };
  if (query.version !== undefined) throw new ServingError('version_not_found', `"${route.name}" is a route: its tiers choose the versions`);
  const first = route.tiers[0]!;
  return { ...resolveModel(backend, first.model, first.version), name: route.name };
}

export function modelMetadata(backend: ServingBackend, routes: readonly RouteConfig[], query: ModelQuery) {
  const { definition, name, version } = resolveNamed(backend, routes, query);
  const isRoute = name !== definition.name;
  const { config } = definition;
  const batchDim = config.max_batch_size > 0 ? [-1] : [];
  const tensors = (list: typeof config.inputs) =>
    list.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...batchDim, ...t.shape] }));
  return {
    name,
    versions: isRoute || query.version !== undefined ? [version] : servedVersions(config),
    platform: platformName(config),
    inputs: tensors(config.inputs),
    outputs: tensors(config.outputs),
    // Not in OIP: what the version runs on (cuda, cpu, tfjs-node-gpu, wasm...), once loaded.
    providers: backend.providers(definition.name, version),
  };
}

export function modelReadiness(
  backend: ServingBackend,
  routes: readonly RouteConfig[],
  query: ModelQuery,
): { name: string; version: string; ready: boolean } {
  const { definition, name, version } = resolveNamed(backend, routes, query);
  return { name, version, ready: backend.versionState(definition.name, version) === ModelState.READY };
}

/** Triton's model_config fields (what gRPC ModelConfig answers), and for a model its own config.json beside them. */
export interface ModelConfigAnswer {
  readonly triton: ReturnType<typeof tritonConfig>;
  /** The model's config.json; absent for a route. */
  readonly own?: ModelDefinition['config'];
}

/**
 * A model's configuration: its config.json and Triton's fields. A route's is its first tier's
 * Triton fields (the interface a client needs to call it) named by the route: the tier model's
 * config.json (description, versions and weight paths, price, tuning) is served by the model's
 * own name only, to keys that may call it by that name.
 */
export function modelConfiguration(backend: ServingBackend, routes: readonly RouteConfig[], query: ModelQuery): ModelConfigAnswer {
  const { definition, name } = resolveNamed(backend, routes, query);
  const triton = tritonConfig(definition.config, platformName(definition.config));
  if (name === definition.name) return { triton, own: definition.config };
  return { triton: { ...triton, name, instance_group: triton.instance_group.map((group) => ({ ...group, name })) } };
}

/**
 * Triton's statistics of a model (every served version, or the one asked for), or of a route:
 * one entry per version its tiers run, under the model's name as answers' model_name gives it.
 */
export function modelStatistics(backend: ServingBackend, routes: readonly RouteConfig[], query: ModelQuery): VersionStatistics[] {
  assertMayCall(query.tenant, query.name);
  const route = routes.find((candidate) => candidate.name === query.name);
  if (!route) {
    const { definition, version } = resolveModel(backend, query.name, query.version);
    return backend.statistics(definition.name, query.version === undefined ? undefined : version);
  }
  if (query.version !== undefined) throw new ServingError('version_not_found', `"${route.name}" is a route: its tiers choose the versions`);
  const seen = new Set<string>();
  return route.tiers.flatMap((tier) => {
    const { definition, version } = resolveModel(backend, tier.model, tier.version);
    const key = `${definition.name}\n${version}`;
    if (seen.has(key)) return [];
    seen.add(key);
    return backend.statistics(definition.name, version);
  });
}
