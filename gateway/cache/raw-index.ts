import type { ResponseMetadata } from '../metadata/response-metadata.js';
import type { EncodedAnswer } from '../protocol/binary-body.js';
import { ByteLru } from './byte-lru.js';
import type { CacheStore } from './cache-store.js';
import type { CacheSlot } from './response-cache.js';

/** An entry a cached answer was read from, as the store held it then. */
export interface CacheSource {
  readonly slot: CacheSlot;
  readonly entry: Uint8Array;
}

/** A request body's answer from the cache, kept encoded: what a raw hit sends again. */
export interface RawAnswer {
  readonly model: string;
  readonly version: string;
  readonly tier: string;
  readonly escalated: boolean;
  readonly rows: number;
  /** `parameters.priority` as the body asked it: the tenant's policy is applied again on each hit. */
  readonly askedPriority: number | undefined;
  /** The answer with this call's metadata (ids, server time, priority) filled in. */
  readonly encode: (metadata: ResponseMetadata) => EncodedAnswer;
  /** What the encoded answer holds, for the bound. */
  readonly bytes: number;
}

interface RawEntry {
  readonly sources: readonly CacheSource[];
  readonly answer: RawAnswer;
}

/**
 * Answers by request body (raw key: see raw-key.ts), in this process's memory, per model:
 * a body answered from the cache once is answered again before it is parsed. An entry only
 * stands for the store's: a raw hit reads each entry its answer came from and is used only
 * while every one is still there, unchanged, so TTL, eviction and other gateways' writes
 * (distributed mode) rule it as they rule the entries. Bounded per model by max_bytes.
 */
export class RawIndex {
  readonly #models = new Map<string, ByteLru<RawEntry>>();

  constructor(
    private readonly store: CacheStore,
    private readonly onError: (error: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  async get(model: string, key: string): Promise<RawAnswer | undefined> {
    const lru = this.#models.get(model);
    const found = lru?.get(key, this.now());
    if (!found) return undefined;
    for (const { slot, entry } of found.sources) {
      let current: Uint8Array | undefined;
      try {
        current = await this.store.get(slot.model, slot.key, slot.settings);
      } catch (error) {
        this.onError(error);
        return undefined;
      }
      if (current !== entry && !(current && Buffer.from(current.buffer, current.byteOffset, current.byteLength).equals(entry))) {
        lru!.delete(key);
        return undefined;
      }
    }
    return found.answer;
  }

  set(model: string, key: string, sources: readonly CacheSource[], answer: RawAnswer): void {
    const settings = sources[0]!.slot.settings;
    let lru = this.#models.get(model);
    if (!lru) {
      lru = new ByteLru();
      this.#models.set(model, lru);
    }
    const size = key.length + answer.bytes + sources.reduce((sum, source) => sum + source.slot.key.length + source.entry.byteLength, 64);
    lru.set(key, { sources, answer }, size, { maxBytes: settings.max_bytes, ttlMs: settings.ttl_s * 1000 }, this.now());
  }

  bytes(): ReadonlyMap<string, number> {
    return new Map([...this.#models].map(([model, lru]) => [model, lru.bytes]));
  }
}
