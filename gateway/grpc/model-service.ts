import { ModelState } from '../../workers/pool/model-state.js';
import { ServingError } from '../../workers/protocol/errors.js';
import { assertAdmin } from '../auth/authorize.js';
import { refuseLoadOverrides } from '../request/load-overrides.js';
import { modelConfiguration, modelMetadata, modelReadiness, modelStatistics, type ModelQuery } from '../request/model-queries.js';
import { EXTENSIONS, SERVER_NAME, SERVER_VERSION } from '../routes/server-metadata.js';
import type { GrpcCall, GrpcFront } from './grpc-call.js';
import { unary } from './unary-call.js';

interface RepositoryRequest {
  readonly model_name?: string;
  readonly parameters?: Record<string, unknown>;
}

interface NameVersion {
  readonly name?: string;
  readonly version?: string;
}

const queryOf = (call: GrpcCall, request: NameVersion): ModelQuery => ({
  tenant: call.tenant,
  name: request.name ?? '',
  ...(request.version ? { version: request.version } : {}),
});

/** Health, metadata, configuration, statistics and the repository extension over gRPC. */
export function modelHandlers(front: GrpcFront) {
  const { backend, lifecycle, services } = front.pipeline;
  const routes = services.policy.routes;
  return {
    ServerLive: unary(front, 'ServerLive', true, () => ({ live: true })),
    ServerReady: unary(front, 'ServerReady', true, () => ({ ready: lifecycle.phase() === 'serving' && backend.isReady() })),
    // As in Triton, a model that is not loaded (or not known) is simply not ready.
    ModelReady: unary<NameVersion>(front, 'ModelReady', false, (call, request) => {
      try {
        return { ready: modelReadiness(backend, routes, queryOf(call, request)).ready };
      } catch (error) {
        if (error instanceof ServingError && (error.code === 'model_not_found' || error.code === 'version_not_found'))
          return { ready: false };
        throw error;
      }
    }),
    ServerMetadata: unary(front, 'ServerMetadata', false, () => ({
      name: SERVER_NAME,
      version: SERVER_VERSION,
      extensions: [...EXTENSIONS],
    })),
    ModelMetadata: unary<NameVersion>(front, 'ModelMetadata', false, (call, request) =>
      modelMetadata(backend, routes, queryOf(call, request)),
    ),
    ModelConfig: unary<NameVersion>(front, 'ModelConfig', false, (call, request) => {
      return { config: modelConfiguration(backend, routes, queryOf(call, request)).triton };
    }),
    ModelStatistics: unary<NameVersion>(front, 'ModelStatistics', false, (call, request) => {
      if (!request.name) {
        assertAdmin(call.tenant);
        return { model_stats: backend.statistics() };
      }
      return { model_stats: modelStatistics(backend, routes, queryOf(call, request)) };
    }),
    RepositoryIndex: unary<{ ready?: boolean }>(front, 'RepositoryIndex', false, async (call, request) => {
      assertAdmin(call.tenant);
      const entries = await backend.index();
      const models = (request.ready ? entries.filter((entry) => entry.state === ModelState.READY) : entries).map((entry) => ({
        name: entry.name,
        version: entry.version ?? '',
        state: entry.state,
        reason: entry.reason,
      }));
      return { models };
    }),
    RepositoryModelLoad: unary<RepositoryRequest>(front, 'RepositoryModelLoad', false, async (call, request) => {
      assertAdmin(call.tenant);
      refuseLoadOverrides(request.parameters);
      await backend.load(request.model_name ?? '');
      return {};
    }),
    RepositoryModelUnload: unary<RepositoryRequest>(front, 'RepositoryModelUnload', false, async (call, request) => {
      assertAdmin(call.tenant);
      // tritonclient always sends unload_dependents; there are no ensembles to follow here.
      await backend.unload(request.model_name ?? '');
      return {};
    }),
  };
}
