import type { FastifyInstance } from 'fastify';
import type { ServingBackend } from '../serving-backend.js';
import type { RouteConfig, Tenant } from '../policy/policy-config.js';
import { modelConfiguration, modelMetadata, modelReadiness, type ModelQuery } from '../request/model-queries.js';

const mayCall = (tenant: Tenant | undefined, name: string): boolean =>
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
  app.get('/v2/models', async (request) => {
    const tenant = request.tenant;
    const entries = await backend.index();
    return entries.filter((entry) => mayCall(tenant, entry.name));
  });
  const metadata = async (request: ModelRequest) => modelMetadata(backend, routes, queryOf(request));
  app.get<{ Params: ModelParams }>('/v2/models/:model', metadata);
  app.get<{ Params: ModelParams }>('/v2/models/:model/versions/:version', metadata);

  const ready = async (request: ModelRequest, reply: { code(status: number): { send(body: unknown): unknown } }) => {
    const readiness = modelReadiness(backend, routes, queryOf(request));
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  };
  app.get<{ Params: ModelParams }>('/v2/models/:model/ready', ready);
  app.get<{ Params: ModelParams }>('/v2/models/:model/versions/:version/ready', ready);

  const config = async (request: ModelRequest) => modelConfiguration(backend, routes, queryOf(request));
  app.get<{ Params: ModelParams }>('/v2/models/:model/config', config);
  app.get<{ Params: ModelParams }>('/v2/models/:model/versions/:version/config', config);
}
