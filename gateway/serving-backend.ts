import type { InferResult, ValidInferRequest } from '../workers/protocol/inference.js';
import type { ModelState } from '../workers/pool/model-state.js';
import type { RepositoryIndexEntry } from '../workers/pool/model-manager.js';
import type { VersionStatistics } from '../workers/pool/statistics.js';
import type { ModelDefinition } from '../workers/repository/load-repository.js';

/**
 * Everything the HTTP layer needs from whatever runs the models: in embedded mode the
 * in-process ModelManager; in distributed mode a queue client.
 */
export interface ServingBackend {
  /** The definition requests are validated against; undefined for unknown models. */
  definition(name: string): ModelDefinition | undefined;
  /** Undefined when the version is not served. */
  versionState(name: string, version: string): ModelState | undefined;
  isReady(): boolean;
  /**
   * Distributed mode: whether Redis answers (the worker registry's last poll was answered in
   * time). While it does not, calls are refused at admission, before any stage sends Redis a
   * command that would wait for it. Absent in embedded mode, which has no shared store.
   */
  storeReachable?(): boolean;
  /** What the version runs on (execution providers or TF backends); empty when unknown. */
  providers(name: string, version: string): readonly string[];
  /** `signal` aborts when nobody waits for the answer: the request leaves the queue, or its rows are dropped. */
  infer(request: ValidInferRequest, signal?: AbortSignal): Promise<InferResult>;
  index(): Promise<RepositoryIndexEntry[]>;
  load(name: string): Promise<void>;
  unload(name: string): Promise<void>;
  statistics(name?: string, version?: string): VersionStatistics[];
  /** Requests waiting per model version: the batchers' queues here, or the Redis queues. */
  backlog(): { model: string; version: string; waiting: number }[];
  close(): Promise<void>;
}

/** Whether the backend's shared store answers: always, for one without one (embedded mode). */
export function storeAnswers(backend: ServingBackend): boolean {
  return backend.storeReachable?.() !== false;
}
