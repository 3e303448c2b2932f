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
  // Triton's load may carry overrides, which are refused, so its (small) body is read; unload's never is.
  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/load', { bodyLimit: LOAD_BODY_LIMIT }, async (request) => {
    assertAdmin(request.tenant);
    const model = modelName(request.params.model);
    refuseOverrides(request.body);
    await backend.load(model);
    return {};
  });
  bodylessRoutes(app, (scope) => {
    scope.post<{ Params: { model: string } }>('/v2/repository/models/:model/unload', async (request) => {
      assertAdmin(request.tenant);
      await backend.unload(modelName(request.params.model));
      return {};
    });
  });
}

const LOAD_BODY_LIMIT = 64 * 1024;

/** Checked before any file is touched: a name is one folder of the repository, never a path. */
function modelName(name: string): string {
  if (!MODEL_NAME.test(name)) throw new ServingError('invalid_parameter', 'a model name is letters, digits, ".", "_" and "-", starting with a letter or digit');
  return name;
}

/** Triton's load may carry a model's config (`config`) and files (`file:<path>`) to load from: Switchyard loads from its repository only. */
function refuseOverrides(body: unknown): void {
  const parsed = Buffer.isBuffer(body) ? (body.length > 0 ? safeJson(body) : {}) : body;
  const parameters = typeof parsed === 'object' && parsed !== null ? (parsed as { parameters?: unknown }).parameters : undefined;
  if (typeof parameters !== 'object' || parameters === null) return;
  const overrides = Object.keys(parameters).filter((key) => key === 'config' || key.startsWith('file:'));
  if (overrides.length > 0) {
    const what = overrides.includes('config') ? '"config"' : '"file:" parameters';
    throw new ServingError('not_supported', `load takes no ${what}: models load from the repository as they are`);
  }
}

function safeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return {};
  }
}
