import type { FastifyInstance } from 'fastify';
import type { ServingBackend } from '../serving-backend.js';
import type { RouteConfig, Tenant } from '../policy/policy-config.js';
import { modelConfiguration, modelMetadata, modelReadiness, type ModelQuery } from '../request/model-queries.js';
import { docs, json, MODEL_PARAM, VERSION_PARAM, ANY_OBJECT, type RouteDocs } from '../openapi/route-docs.js';
import { MODEL_METADATA, MODEL_READINESS, REPOSITORY_INDEX } from '../openapi/oip-schemas.js';

// Names are looked up by hand (model_not_found, version_not_found): described, not validated by ajv.
const MODEL = { type: 'object', required: ['model'], properties: { model: MODEL_PARAM } } as const;
const VERSION = { type: 'object', required: ['model', 'version'], properties: { model: MODEL_PARAM, version: VERSION_PARAM } } as const;
const LOOKUP = ['forbidden', 'model_not_found', 'version_not_found'] as const;
const about = (summary: string, responses: RouteDocs['responses']) => ({
  model: { config: docs({ tag: 'models', summary, errors: LOOKUP, responses, handChecked: { params: MODEL } }) },
  version: { config: docs({ tag: 'models', summary, errors: LOOKUP, responses, handChecked: { params: VERSION } }) },
});

/** Whether a key may call a model (admins and `*` any). */
export const mayCall = (tenant: Tenant | undefined, name: string): boolean =>
  tenant !== undefined && (tenant.role === 'admin' || tenant.models.includes('*') || tenant.models.includes(name));

interface ModelParams {
  model: string;
  version?: string;
}

type ModelRequest = { params: ModelParams; tenant: Tenant | undefined };

const queryOf = (request: ModelRequest): ModelQuery => ({
  tenant: request.tenant,
  name: request.params.model,
  ...(request.params.version !== undefined ? { version: request.params.version } : {}),
});

/** Model metadata, readiness and configuration (OIP, plus Triton's model_configuration). */
export function modelRoutes(app: FastifyInstance, backend: ServingBackend, routes: readonly RouteConfig[]): void {
  // Not in OIP, but the first thing people try: the repository index, cut to the models this key may call.
  const index = docs({
    tag: 'models',
    summary: 'The models this key may call, with their states',
    responses: { 200: { description: 'The repository index, cut to this key.', content: json(REPOSITORY_INDEX) } },
  });
  app.get('/v2/models', { config: index }, async (request) => {
    const tenant = request.tenant;
    const entries = await backend.index();
    return entries.filter((entry) => mayCall(tenant, entry.name));
  });
  const metadata = async (request: ModelRequest) => modelMetadata(backend, routes, queryOf(request));
  const metadataDocs = about('Model metadata (OIP): versions, inputs, outputs', {
    200: { description: 'The metadata.', content: json(MODEL_METADATA) },
  });
  app.get<{ Params: ModelParams }>('/v2/models/:model', metadataDocs.model, metadata);
  app.get<{ Params: ModelParams }>('/v2/models/:model/versions/:version', metadataDocs.version, metadata);

  const ready = async (request: ModelRequest, reply: { code(status: number): { send(body: unknown): unknown } }) => {
    const readiness = modelReadiness(backend, routes, queryOf(request));
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  };
  const readyDocs = about('Model readiness (OIP)', {
    200: { description: 'Ready.', content: json(MODEL_READINESS) },
    503: { description: 'Not ready (loading, unloading, failed or unloaded).', content: json(MODEL_READINESS) },
  });
  app.get<{ Params: ModelParams }>('/v2/models/:model/ready', readyDocs.model, ready);
  app.get<{ Params: ModelParams }>('/v2/models/:model/versions/:version/ready', readyDocs.version, ready);

  // Triton's config where Triton names a field (as gRPC answers it), Switchyard's own keys beside it.
  const config = async (request: ModelRequest) => {
    const { own, triton } = modelConfiguration(backend, routes, queryOf(request));
    return { ...own, ...triton };
  };
  const configDocs = about("Model configuration (Triton's model_configuration)", {
    200: {
      description:
        "Triton's model_config.proto fields (platform, backend, input, output, instance_group, dynamic_batching), as the gRPC ModelConfig gives them, beside the rest of the model's config.json, validated.",
      content: json(ANY_OBJECT),
    },
  });
  app.get<{ Params: ModelParams }>('/v2/models/:model/config', configDocs.model, config);
  app.get<{ Params: ModelParams }>('/v2/models/:model/versions/:version/config', configDocs.version, config);
}
