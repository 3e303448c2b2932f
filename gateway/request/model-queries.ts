import { ModelState } from '../../workers/pool/model-state.js';
import { ServingError } from '../../workers/protocol/errors.js';
import type { ModelDefinition } from '../../workers/repository/load-repository.js';
import { servedVersions } from '../../workers/repository/model-config.js';
import { assertMayCall } from '../auth/authorize.js';
import type { RouteConfig, Tenant } from '../policy/policy-config.js';
import { resolveModel } from '../routing/resolve-model.js';
import type { ServingBackend } from '../serving-backend.js';

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

/** A route answers for its first tier, so OIP clients can use route names as model names. */
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

export function modelConfiguration(backend: ServingBackend, routes: readonly RouteConfig[], query: ModelQuery): ModelDefinition['config'] {
  return resolveNamed(backend, routes, query).definition.config;
}
