import type { FastifyInstance } from 'fastify';
import { ModelState } from '../../workers/pool/model-state.js';
import { ServingError } from '../../workers/protocol/errors.js';
import { MODEL_NAME } from '../../workers/repository/model-config.js';
import type { ServingBackend } from '../serving-backend.js';
import { assertAdmin } from '../auth/authorize.js';
import { bodylessRoutes } from '../http/bodyless-routes.js';

/** Triton's model repository extension: index, load (or reload) and unload at run time. */
export function repositoryRoutes(app: FastifyInstance, backend: ServingBackend): void {
  // Loading and unloading change what everyone is served: admins only.
  app.post<{ Body: unknown }>('/v2/repository/index', async (request) => {
    assertAdmin(request.tenant);
    const entries = await backend.index();
    const body = Buffer.isBuffer(request.body) && request.body.length > 0 ? safeJson(request.body) : {};
    const onlyReady = typeof body === 'object' && body !== null && (body as { ready?: unknown }).ready === true;
    return onlyReady ? entries.filter((entry) => entry.state === ModelState.READY) : entries;
  });
  // Triton clients send parameters with these; none is used, so the body is never read.
  bodylessRoutes(app, (scope) => {
    scope.post<{ Params: { model: string } }>('/v2/repository/models/:model/load', async (request) => {
      assertAdmin(request.tenant);
      await backend.load(modelName(request.params.model));
      return {};
    });
    scope.post<{ Params: { model: string } }>('/v2/repository/models/:model/unload', async (request) => {
      assertAdmin(request.tenant);
      await backend.unload(modelName(request.params.model));
      return {};
    });
  });
}

/** Checked before any file is touched: a name is one folder of the repository, never a path. */
function modelName(name: string): string {
  if (!MODEL_NAME.test(name)) throw new ServingError('invalid_parameter', 'a model name is letters, digits, ".", "_" and "-", starting with a letter or digit');
  return name;
}

function safeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return {};
  }
}
