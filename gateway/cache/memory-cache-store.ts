import type { ResponseCacheConfig } from '../../workers/repository/model-config.js';
import { ByteLru } from './byte-lru.js';
import { entrySize, type CacheStore } from './cache-store.js';

/** Embedded mode: per model, an LRU bounded by the bytes of its entries, each kept for the model's ttl_s. */
export class MemoryCacheStore implements CacheStore {
  readonly #models = new Map<string, ByteLru<Uint8Array>>();

  constructor(private readonly now: () => number = Date.now) {}

  async get(model: string, key: string): Promise<Uint8Array | undefined> {
    return this.#models.get(model)?.get(key, this.now());
  }

  async set(model: string, key: string, entry: Buffer, settings: ResponseCacheConfig): Promise<number> {
    let lru = this.#models.get(model);
    if (!lru) {
      lru = new ByteLru();
      this.#models.set(model, lru);
    }
    return lru.set(key, entry, entrySize(key, entry), { maxBytes: settings.max_bytes, ttlMs: settings.ttl_s * 1000 }, this.now());
  }

  async bytes(): Promise<ReadonlyMap<string, number>> {
    return new Map([...this.#models].map(([model, lru]) => [model, lru.bytes]));
  }
}
