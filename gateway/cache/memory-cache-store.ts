import type { ResponseCacheConfig } from '../../workers/repository/model-config.js';
import { entrySize, type CacheStore } from './cache-store.js';

interface Entry {
  readonly entry: Uint8Array;
  readonly size: number;
  readonly expiresAt: number;
}

/**
 * One model's entries, least recently used first. A Map keeps insertion order, so moving an
 * entry to the end on each hit and taking from the front on overflow is the whole LRU: a few
 * lines, where a library (lru-cache) would add a dependency for the same two operations.
 */
class ByteLru {
  readonly #entries = new Map<string, Entry>();
  bytes = 0;

  get(key: string, now: number): Uint8Array | undefined {
    const found = this.#entries.get(key);
    if (!found) return undefined;
    this.#entries.delete(key);
    if (found.expiresAt <= now) {
      this.bytes -= found.size;
      return undefined;
    }
    this.#entries.set(key, found);
    return found.entry;
  }

  /** Returns the number of entries evicted to make room. */
  set(key: string, entry: Uint8Array, settings: ResponseCacheConfig, now: number): number {
    const size = entrySize(key, entry);
    const old = this.#entries.get(key);
    if (old) {
      this.#entries.delete(key);
      this.bytes -= old.size;
    }
    if (size > settings.max_bytes) return 0;
    this.#entries.set(key, { entry, size, expiresAt: now + settings.ttl_s * 1000 });
    this.bytes += size;
    let evicted = 0;
    for (const [oldest, { size: freed, expiresAt }] of this.#entries) {
      if (this.bytes <= settings.max_bytes) break;
      this.#entries.delete(oldest);
      this.bytes -= freed;
      // An entry past its time leaving is an expiry, not an eviction.
      if (expiresAt > now) evicted += 1;
    }
    return evicted;
  }
}

/** Embedded mode: per model, an LRU bounded by the bytes of its entries, each kept for the model's ttl_s. */
export class MemoryCacheStore implements CacheStore {
  readonly #models = new Map<string, ByteLru>();

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
    return lru.set(key, entry, settings, this.now());
  }

  async bytes(): Promise<ReadonlyMap<string, number>> {
    return new Map([...this.#models].map(([model, lru]) => [model, lru.bytes]));
  }
}
