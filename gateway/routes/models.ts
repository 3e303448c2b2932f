import type { FastifyInstance } from 'fastify';
import { ModelState } from '../../workers/pool/model-state.js';
import { servedVersions } from '../../workers/repository/model-config.js';
import { assertMayCall } from '../auth/authorize.js';
import { resolveModel } from '../routing/resolve-model.js';
import type { ServingBackend } from '../serving-backend.js';
import type { RouteConfig, Tenant } from '../policy/policy-config.js';
import { ServingError } from '../../workers/protocol/errors.js';
import type { ModelDefinition } from '../../workers/repository/load-repository.js';

const mayCall = (tenant: Tenant | undefined, name: string): boolean =>
  tenant !== undefined && (tenant.role === 'admin' || tenant.models.includes('*') || tenant.models.includes(name));

interface ModelParams {
  model: string;
  version?: string;
}

/** Triton's platform names, and the TF.js formats' equivalents. */
function platformName(config: ModelDefinition['config']): string {
  if (config.platform === 'onnx') return 'onnxruntime_onnx';
  return config.format === 'saved_model' ? 'tensorflow_savedmodel' : `tfjs_${config.format ?? 'graph'}_model`;
}

/** Model metadata, readiness and configuration (OIP, plus Triton's model_configuration). */
export function modelRoutes(app: FastifyInstance, backend: ServingBackend, routes: readonly RouteConfig[]): void {
  /** A route answers for its first tier, so OIP clients can use route names as model names. */
  const resolve = (params: ModelParams) => {
    const route = routes.find((candidate) => candidate.name === params.model);
    if (!route) return { ...resolveModel(backend, params.model, params.version), name: params.model };
    if (params.version !== undefined) throw new ServingError('version_not_found', `"${route.name}" is a route: its tiers choose the versions`);
    const first = route.tiers[0]!;
    return { ...resolveModel(backend, first.model, first.version), name: route.name };
  };
  const metadata = async (request: { params: ModelParams; tenant: Tenant | undefined }) => {
    assertMayCall(request.tenant, request.params.model);
    const { definition, name, version } = resolve(request.params);
    const isRoute = name !== definition.name;
    const { config } = definition;
    const batchDim = config.max_batch_size > 0 ? [-1] : [];
    const tensors = (list: typeof config.inputs) => list.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...batchDim, ...t.shape] }));
    return {
      name,
      versions: isRoute || request.params.version !== undefined ? [version] : servedVersions(config),
      platform: platformName(config),
      inputs: tensors(config.inputs),
      outputs: tensors(config.outputs),
      // Not in OIP: what the version runs on (cuda, cpu, tfjs-node-gpu, wasm...), once loaded.
      providers: backend.providers(definition.name, version),
    };
  };
  // Not in OIP, but the first thing people try: the repository index, cut to the models this key may call.
  app.get('/v2/models', async (request) => {
    const tenant = request.tenant;
    const entries = await backend.index();
    return entries.filter((entry) => mayCall(tenant, entry.name));
  });
  app.get<{ Params: ModelParams }>('/v2/models/:model', metadata);
  app.get<{ Params: ModelParams }>('/v2/models/:model/versions/:version', metadata);

  const ready = async (request: { params: ModelParams; tenant: Tenant | undefined }, reply: { code(status: number): { send(body: unknown): unknown } }) => {
    assertMayCall(request.tenant, request.params.model);
    const { definition, name, version } = resolve(request.params);
    const isReady = backend.versionState(definition.name, version) === ModelState.READY;
    return reply.code(isReady ? 200 : 503).send({ name, version, ready: isReady });
  };
  app.get<{ Params: ModelParams }>('/v2/models/:model/ready', ready);
  app.get<{ Params: ModelParams }>('/v2/models/:model/versions/:version/ready', ready);

  const config = async (request: { params: ModelParams; tenant: Tenant | undefined }) => {
    assertMayCall(request.tenant, request.params.model);
    return resolve(request.params).definition.config;
  };
  app.get<{ Params: ModelParams }>('/v2/models/:model/config', config);
  app.get<{ Params: ModelParams }>('/v2/models/:model/versions/:version/config', config);
}
