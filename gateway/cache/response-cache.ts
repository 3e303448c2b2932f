import type { ValidInferRequest, InferResult } from '../../workers/protocol/inference.js';
import type { ModelConfig } from '../../workers/repository/model-config.js';
import { decodeEntry, encodeEntry, type EntryOwner } from './cache-entry.js';
import { cacheKey, scopeName, type CacheScope } from './cache-key.js';
import type { CacheStore } from './cache-store.js';
import { RawIndex, type CacheSource } from './raw-index.js';
import { RunsInFlight } from './runs-in-flight.js';

/** Per model, since the process started: what the metrics report. */
export interface CacheCounts {
  hits: number;
  /** Of the hits, those answered by request body, before it was parsed (raw-index.ts). */
  rawHits: number;
  misses: number;
  evictions: number;
}

/** One request's place in the cache: computed before it runs (a runtime may take its input buffers). */
export interface CacheSlot {
  readonly model: string;
  readonly key: string;
  readonly owner: EntryOwner;
  readonly settings: ModelConfig['response_cache'];
  /** The outputs a whole answer has. */
  readonly outputs: readonly string[];
  /** For a batching model, the rows each output of a whole answer has. */
  readonly rows?: number;
}

/**
 * The response cache over its store: keys, entries, counts. A store that fails (Redis away)
 * makes a lookup a miss and a write a no-op: the cache never fails a request.
 */
export class ResponseCache {
  readonly counts = new Map<string, CacheCounts>();
  readonly runs = new RunsInFlight();
  readonly raw: RawIndex;

  constructor(
    readonly store: CacheStore,
    private readonly onError: (error: unknown) => void,
  ) {
    this.raw = new RawIndex(store, onError);
  }

  /** Undefined when the model does not cache. */
  async slot(request: ValidInferRequest, config: ModelConfig, tenant: string): Promise<CacheSlot | undefined> {
    const settings = config.response_cache;
    if (!settings.enabled) return undefined;
    const scope: CacheScope = settings.scope === 'global' ? { kind: 'global' } : { kind: 'tenant', tenant };
    const outputs = request.outputs.length > 0 ? request.outputs : config.outputs.map((output) => output.name);
    const owner = { model: request.model, version: request.version, scope: scopeName(scope) };
    return {
      model: request.model,
      key: await cacheKey(request, scope, outputs, config),
      owner,
      settings,
      outputs,
      ...(config.max_batch_size > 0 ? { rows: request.rows } : {}),
    };
  }

  /**
   * The cached answer, in buffers of its own, and the entry it was read from; undefined on a
   * miss. Counts nothing: the caller knows what a call hit.
   */
  async get(slot: CacheSlot): Promise<{ readonly result: InferResult; readonly source: CacheSource } | undefined> {
    let entry: Uint8Array | undefined;
    try {
      entry = await this.store.get(slot.model, slot.key, slot.settings);
    } catch (error) {
      this.onError(error);
      return undefined;
    }
    const outputs = entry ? decodeEntry(entry, slot.owner) : undefined;
    if (!entry || !outputs) return undefined;
    const result = {
      model: slot.owner.model,
      version: slot.owner.version,
      outputs,
      timings: { queueMs: 0, computeMs: 0, batchSize: 0, batchRows: 0 },
    };
    return { result, source: { slot, entry } };
  }

  /**
   * Keeps a whole answer; one from another version, missing an output asked for or some of the
   * request's rows, is not kept. Settles (never rejects) once the store has it.
   */
  put(slot: CacheSlot, result: InferResult): Promise<void> {
    if (result.model !== slot.owner.model || result.version !== slot.owner.version) return Promise.resolve();
    if (!slot.outputs.every((name) => result.outputs.some((tensor) => tensor.name === name))) return Promise.resolve();
    if (slot.rows !== undefined && !result.outputs.every((tensor) => tensor.shape[0] === slot.rows)) return Promise.resolve();
    // An answer larger than the model's whole bound is never kept: not even copied.
    if (result.outputs.reduce((sum, tensor) => sum + tensor.data.byteLength, 0) > slot.settings.max_bytes) return Promise.resolve();
    const entry = encodeEntry(slot.owner, result.outputs);
    return this.store.set(slot.model, slot.key, entry, slot.settings).then((evicted) => {
      if (evicted > 0) this.#count(slot.model).evictions += evicted;
    }, this.onError);
  }

  counted(model: string, hit: boolean, raw = false): void {
    const counts = this.#count(model);
    if (hit) counts.hits += 1;
    else counts.misses += 1;
    if (raw) counts.rawHits += 1;
  }

  #count(model: string): CacheCounts {
    let counts = this.counts.get(model);
    if (!counts) {
      counts = { hits: 0, rawHits: 0, misses: 0, evictions: 0 };
      this.counts.set(model, counts);
    }
    return counts;
  }
}
