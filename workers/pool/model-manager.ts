import type { Logger } from 'pino';
import { DEFAULT_MAX_AUDIO_SECONDS } from '../media/audio-threads.js';
import { ServingError } from '../protocol/errors.js';
import type { InferResult, ValidInferRequest } from '../protocol/inference.js';
import { loadRepository, readModelDefinition, type ModelDefinition } from '../repository/load-repository.js';
import { MODEL_NAME, servedVersions } from '../repository/model-config.js';
import { clientSafeMessage } from '../repository/client-safe-message.js';
import { resolveWeights } from '../repository/resolve-weights.js';
import type { ServingMetrics } from '../metrics/serving-metrics.js';
import type { InstanceFactory } from '../runtime/runtime.js';
import type { Hardware } from './hardware.js';
import { ModelState } from './model-state.js';
import type { VersionStatistics } from './statistics.js';
import { VersionPool } from './version-pool.js';

export interface RepositoryIndexEntry {
  readonly name: string;
  readonly version?: string;
  readonly state: ModelState;
  readonly reason: string;
  /** What the version's instances run on (cpu, cuda, wasm, tfjs-node...); once loaded. */
  readonly providers?: readonly string[];
}

/** One version this process has, as heartbeats announce it. */
export interface VersionStatus {
  readonly model: string;
  readonly version: string;
  readonly state: ModelState;
  readonly providers: readonly string[];
}

interface LoadedModel {
  readonly definition: ModelDefinition;
  readonly versions: ReadonlyMap<string, VersionPool>;
}

export interface ModelManagerOptions {
  readonly repository: string;
  readonly createInstance: (platform: ModelDefinition['config']['platform']) => InstanceFactory;
  readonly cpuCount: number;
  /** Encoded images with more pixels are refused (default 40 million). */
  readonly maxImagePixels?: number;
  /** Audio one request may carry, in seconds (default 600). */
  readonly maxAudioSeconds?: number;
  readonly logger: Logger;
  /** Handed to every version pool, which records the serving metrics. */
  readonly metrics?: ServingMetrics;
  /** The machine, for picking `tuned` blocks; detected when not given. */
  readonly hardware?: Hardware;
}

/**
 * The models this process serves: loads, warms, reloads and unloads them at run time,
 * and hands each validated request to its version's pool.
 */
export class ModelManager {
  readonly #options: ModelManagerOptions;
  readonly #models = new Map<string, LoadedModel>();
  /** Models whose last load failed, with the reason (shown by the repository index). */
  readonly #failures = new Map<string, string>();
  /** The versions a failed first load would have served: announced FAILED so gateways refuse them at once. */
  readonly #failedVersions = new Map<string, readonly string[]>();
  /** One load or unload at a time per model. */
  readonly #locks = new Map<string, Promise<unknown>>();
  /** Versions of models being loaded for the first time or reloaded, for the index. */
  readonly #loading = new Map<string, LoadedModel>();

  constructor(options: ModelManagerOptions) {
    this.#options = options;
  }

  /**
   * Loads every model in the repository (or the ones named), keeping to the given pools
   * when `pools` is set; rejects naming the first that fails, or with `keepGoing` loads the
   * rest and leaves the failed ones FAILED (a worker process: see failed()).
   */
  async loadAll(only?: readonly string[], pools?: readonly string[], { keepGoing = false }: { keepGoing?: boolean } = {}): Promise<void> {
    const definitions = await loadRepository(this.#options.repository);
    const missing = (only ?? []).filter((name) => !definitions.some((d) => d.name === name));
    if (missing.length > 0) throw new Error(`not in the model repository ${this.#options.repository}: ${missing.join(', ')}`);
    const outside = definitions.filter((d) => only?.includes(d.name) && pools && !pools.includes(d.config.pool));
    if (outside.length > 0) {
      throw new Error(
        `named to load but outside this worker's pools (${pools!.join(', ')}): ${outside.map((d) => `${d.name} (pool ${d.config.pool})`).join(', ')}`,
      );
    }
    const chosen = definitions.filter(
      (definition) => (!only || only.includes(definition.name)) && (!pools || pools.includes(definition.config.pool)),
    );
    // Known (and not ready) from the start, so their readiness reads 503 rather than 404.
    for (const definition of chosen) {
      if (!this.#models.has(definition.name)) this.#loading.set(definition.name, { definition, versions: new Map() });
    }
    for (const definition of chosen) {
      const loading = this.#withLock(definition.name, () => this.#load(definition));
      if (keepGoing) await loading.catch(() => undefined);
      else await loading;
    }
  }

  /** Models whose last load failed, with the reason. */
  failed(): { model: string; reason: string }[] {
    return [...this.#failures].map(([model, reason]) => ({ model, reason }));
  }

  /** Loads a model, or reloads it: new versions warm up before they replace the old ones. */
  async load(name: string): Promise<void> {
    checkModelName(name);
    await this.#withLock(name, async () => {
      let definition: ModelDefinition;
      try {
        definition = await readModelDefinition(this.#options.repository, name);
      } catch (error) {
        if ((error as Error).message.includes('cannot be read'))
          throw new ServingError('model_not_found', `no model "${name}" in the repository`);
        this.#options.logger.error({ err: error, model: name }, 'model config refused');
        const reason = clientSafeMessage((error as Error).message, this.#options.repository);
        this.#failures.set(name, reason);
        throw new ServingError('model_load_failed', reason);
      }
      await this.#load(definition);
    });
  }

  async unload(name: string): Promise<void> {
    checkModelName(name);
    await this.#withLock(name, async () => {
      // Not loaded is already unloaded, as Triton answers it: teardown scripts unload without asking first.
      const model = this.#models.get(name);
      if (!model) return;
      this.#models.delete(name);
      await Promise.all([...model.versions.values()].map((pool) => pool.unload()));
      this.#options.logger.info({ model: name }, 'model unloaded');
    });
  }

  /** The model left the repository: unloads it if loaded and forgets its last failure; true when it was loaded. */
  async removed(name: string): Promise<boolean> {
    return this.#withLock(name, async () => {
      this.#failures.delete(name);
      this.#failedVersions.delete(name);
      const model = this.#models.get(name);
      if (!model) return false;
      this.#models.delete(name);
      await Promise.all([...model.versions.values()].map((pool) => pool.unload()));
      return true;
    });
  }

  /** Definitions of loaded models, and of models loading for the first time. */
  definition(name: string): ModelDefinition | undefined {
    return (this.#models.get(name) ?? this.#loading.get(name))?.definition;
  }

  /** State of a version, or undefined when the model is not loaded or the version is not served. */
  versionState(name: string, version: string): ModelState | undefined {
    return (this.#models.get(name) ?? this.#loading.get(name))?.versions.get(version)?.state;
  }

  isReady(): boolean {
    for (const model of this.#models.values()) {
      for (const pool of model.versions.values()) if (pool.state !== ModelState.READY) return false;
    }
    return true;
  }

  /** `signal`: the caller left (see VersionPool.infer). */
  infer(request: ValidInferRequest, signal?: AbortSignal): Promise<InferResult> {
    const pool = this.#models.get(request.model)?.versions.get(request.version);
    if (!pool) return Promise.reject(new ServingError('model_not_ready', `${request.model}:${request.version} is not loaded`));
    return pool.infer(request, signal);
  }

  /** Every model in the repository, loaded or not, one entry per served version. */
  async index(): Promise<RepositoryIndexEntry[]> {
    const definitions = await loadRepository(this.#options.repository).catch(() => [] as ModelDefinition[]);
    const names = new Set([...definitions.map((d) => d.name), ...this.#models.keys(), ...this.#failures.keys()]);
    const entries: RepositoryIndexEntry[] = [];
    for (const name of [...names].sort()) {
      const versions = (this.#models.get(name) ?? this.#loading.get(name))?.versions;
      if (!versions) {
        const failure = this.#failures.get(name);
        entries.push({ name, state: failure ? ModelState.FAILED : ModelState.UNAVAILABLE, reason: failure ?? '' });
        continue;
      }
      // A reload that failed leaves the previous versions serving: say so beside them.
      const failure = this.#failures.get(name);
      for (const [version, pool] of versions) {
        const providers = pool.providers;
        const own = clientSafeMessage(pool.reason, this.#options.repository);
        const reason = failure ? [own, `reload failed, previous versions serving: ${failure}`].filter(Boolean).join('; ') : own;
        entries.push({ name, version, state: pool.state, reason, ...(providers.length > 0 ? { providers } : {}) });
      }
    }
    return entries;
  }

  /** Every version this process has (loaded or loading), with its state; synchronous, for heartbeats. */
  versionStates(): VersionStatus[] {
    const states: VersionStatus[] = [];
    for (const [model, entry] of [...this.#loading, ...this.#models]) {
      for (const [version, pool] of entry.versions) states.push({ model, version, state: pool.state, providers: pool.providers });
    }
    for (const [model, versions] of this.#failedVersions) {
      if (this.#models.has(model) || this.#loading.has(model)) continue;
      for (const version of versions) states.push({ model, version, state: ModelState.FAILED, providers: [] });
    }
    return states;
  }

  /** What a loaded version's instances run on; empty when it is not loaded. */
  providers(name: string, version: string): readonly string[] {
    return this.#models.get(name)?.versions.get(version)?.providers ?? [];
  }

  /** Requests waiting in each loaded version's batcher: this process's queue depth. */
  backlog(): { model: string; version: string; waiting: number }[] {
    return [...this.#models].flatMap(([model, loaded]) =>
      [...loaded.versions].map(([version, pool]) => ({ model, version, waiting: pool.queued })),
    );
  }

  /** Loaded models and their served versions. */
  loaded(): { definition: ModelDefinition; versions: string[] }[] {
    return [...this.#models.values()].map((model) => ({ definition: model.definition, versions: [...model.versions.keys()] }));
  }

  statistics(name?: string, version?: string): VersionStatistics[] {
    const out: VersionStatistics[] = [];
    for (const [modelName, model] of this.#models) {
      if (name !== undefined && modelName !== name) continue;
      for (const [v, pool] of model.versions) {
        if (version === undefined || v === version) out.push(pool.stats.snapshot(modelName, v));
      }
    }
    return out;
  }

  /** Drains every model: queued requests are answered, then instances close. */
  async close(): Promise<void> {
    const models = [...this.#models.values()];
    this.#models.clear();
    await Promise.all(models.flatMap((model) => [...model.versions.values()].map((pool) => pool.unload())));
  }

  async #load(definition: ModelDefinition): Promise<void> {
    const { config } = definition;
    const pools = new Map<string, VersionPool>();
    if (!this.#models.has(definition.name)) this.#loading.set(definition.name, { definition, versions: pools });
    try {
      for (const version of servedVersions(config)) {
        const pool = new VersionPool({
          definition,
          version,
          modelPath: resolveWeights(definition, version),
          createInstance: this.#options.createInstance(config.platform),
          cpuCount: this.#options.cpuCount,
          maxImagePixels: this.#options.maxImagePixels ?? 40_000_000,
          maxAudioSeconds: this.#options.maxAudioSeconds ?? DEFAULT_MAX_AUDIO_SECONDS,
          logger: this.#options.logger,
          ...(this.#options.metrics ? { metrics: this.#options.metrics } : {}),
          ...(this.#options.hardware ? { hardware: this.#options.hardware } : {}),
        });
        pools.set(version, pool);
        await pool.load();
      }
    } catch (error) {
      await Promise.all([...pools.values()].map((pool) => pool.unload()));
      this.#options.logger.error({ err: error, model: definition.name }, 'model load failed');
      const reason = `${definition.name}: ${clientSafeMessage((error as Error).message, this.#options.repository)}`;
      this.#failures.set(definition.name, reason);
      this.#failedVersions.set(definition.name, servedVersions(config));
      throw new ServingError('model_load_failed', reason);
    } finally {
      this.#loading.delete(definition.name);
    }
    this.#failures.delete(definition.name);
    this.#failedVersions.delete(definition.name);
    const previous = this.#models.get(definition.name);
    this.#models.set(definition.name, { definition, versions: pools });
    if (previous) await Promise.all([...previous.versions.values()].map((pool) => pool.unload()));
  }

  async #withLock<T>(name: string, task: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(name) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(task);
    this.#locks.set(name, run);
    try {
      return await run;
    } finally {
      if (this.#locks.get(name) === run) this.#locks.delete(name);
    }
  }
}

/**
 * A name from a caller (HTTP or gRPC repository calls) names one folder of the repository,
 * never a path: checked before any file is touched, and before a failure is recorded under it.
 */
function checkModelName(name: string): void {
  if (name.length > 0 && name.length <= 100 && MODEL_NAME.test(name)) return;
  throw new ServingError(
    'invalid_parameter',
    `"${name.slice(0, 100)}" is not a model name: a folder of the repository, letters, digits, . _ - only (at most 100)`,
  );
}
