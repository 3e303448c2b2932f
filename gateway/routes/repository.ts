import type { FastifyInstance } from 'fastify';
import { ModelState } from '../../workers/pool/model-state.js';
import { MODEL_NAME } from '../../workers/repository/model-config.js';
import type { ServingBackend } from '../serving-backend.js';
import { adminOnly } from '../auth/authenticate.js';
import { bodylessRoutes } from '../http/bodyless-routes.js';
import { docs, json, EMPTY_OBJECT, type JsonSchema, type RouteDocs } from '../openapi/route-docs.js';
import { REPOSITORY_INDEX } from '../openapi/oip-schemas.js';
import { refuseLoadOverrides } from '../request/load-overrides.js';
import { parseJsonObject } from '../tasks/task-json.js';

/** Checked before any file is touched: a name is one folder of the repository, never a path. */
const MODEL_FOLDER = {
  params: {
    type: 'object',
    required: ['model'],
    properties: { model: { type: 'string', pattern: MODEL_NAME.source, description: 'A model folder of the repository.' } },
  },
} as const;
const changes = (summary: string, errors: RouteDocs['errors'], body?: JsonSchema) =>
  docs({
    tag: 'triton',
    summary,
    errors: ['forbidden', 'not_in_this_mode', ...(errors ?? [])],
    responses: { 200: { description: 'Done.', content: json(EMPTY_OBJECT) } },
    ...(body ? { handChecked: { body: json(body) } } : { bodyless: true }),
  });

/** Triton's model repository extension: index, load (or reload) and unload at run time. */
export function repositoryRoutes(app: FastifyInstance, backend: ServingBackend): void {
  // Loading and unloading change what everyone is served: admins only.
  const indexDocs = docs({
    tag: 'triton',
    summary: 'Repository index: every model and version with its state (admin)',
    errors: ['forbidden', 'invalid_json', 'invalid_request'],
    responses: { 200: { description: 'The index.', content: json(REPOSITORY_INDEX) } },
    handChecked: {
      body: json({ type: 'object', properties: { ready: { description: 'true: only READY versions (anything else: all).' } } }),
    },
  });
  app.post<{ Body: unknown }>('/v2/repository/index', { onRequest: adminOnly, config: indexDocs }, async (request) => {
    const entries = await backend.index();
    const onlyReady = jsonBody(request.body).ready === true;
    return onlyReady ? entries.filter((entry) => entry.state === ModelState.READY) : entries;
  });
  // Triton's load may carry overrides, which are refused, so its (small) body is read; unload's never is.
  const loadBody = {
    type: 'object',
    properties: {
      parameters: {
        type: 'object',
        propertyNames: { not: { anyOf: [{ const: 'config' }, { pattern: '^file:' }] } },
        description: "Triton's config and file: overrides are refused (not_supported).",
      },
    },
  };
  const loadDocs = changes(
    'Load (or reload) a model from the repository (admin, embedded mode)',
    ['model_not_found', 'model_load_failed', 'not_supported', 'invalid_json', 'invalid_request'],
    loadBody,
  );
  app.post<{ Params: { model: string } }>(
    '/v2/repository/models/:model/load',
    { onRequest: adminOnly, bodyLimit: LOAD_BODY_LIMIT, schema: MODEL_FOLDER, config: loadDocs },
    async (request) => {
      const model = request.params.model;
      refuseLoadOverrides(jsonBody(request.body).parameters);
      await backend.load(model);
      return {};
    },
  );
  bodylessRoutes(app, (scope) => {
    const unloadDocs = changes('Unload a model; one not loaded is already unloaded (admin, embedded mode)', []);
    scope.post<{ Params: { model: string } }>(
      '/v2/repository/models/:model/unload',
      { onRequest: adminOnly, schema: MODEL_FOLDER, config: unloadDocs },
      async (request) => {
        await backend.unload(request.params.model);
        return {};
      },
    );
  });
}

const LOAD_BODY_LIMIT = 64 * 1024;

/** An optional JSON object body: none is `{}`; anything else unreadable is refused, never taken as "no options". */
function jsonBody(body: unknown): Record<string, unknown> {
  if (!Buffer.isBuffer(body) || body.length === 0) return {};
  return parseJsonObject(body.toString('utf8'), 'the body');
}
