/**
 * One model's entries, least recently used first, bounded by their bytes. A Map keeps
 * insertion order, so moving an entry to the end on each hit and taking from the front on
 * overflow is the whole LRU: a few lines, where a library (lru-cache) would add a dependency
 * for the same two operations.
 */
export class ByteLru<V> {
  readonly #entries = new Map<string, { readonly value: V; readonly size: number; readonly expiresAt: number }>();
  bytes = 0;

  get(key: string, now: number): V | undefined {
    const found = this.#entries.get(key);
    if (!found) return undefined;
    this.#entries.delete(key);
    if (found.expiresAt <= now) {
      this.bytes -= found.size;
      return undefined;
    }
    this.#entries.set(key, found);
    return found.value;
  }

  delete(key: string): void {
    const found = this.#entries.get(key);
    if (!found) return;
    this.#entries.delete(key);
    this.bytes -= found.size;
  }

  /** Keeps `value` (counted as `size` bytes) for `ttlMs`; returns the number of entries evicted to make room. */
  set(key: string, value: V, size: number, bound: { readonly maxBytes: number; readonly ttlMs: number }, now: number): number {
    this.delete(key);
    if (size > bound.maxBytes) return 0;
    this.#entries.set(key, { value, size, expiresAt: now + bound.ttlMs });
    this.bytes += size;
    let evicted = 0;
    for (const [oldest, { size: freed, expiresAt }] of this.#entries) {
      if (this.bytes <= bound.maxBytes) break;
      this.#entries.delete(oldest);
      this.bytes -= freed;
      // An entry past its time leaving is an expiry, not an eviction.
      if (expiresAt > now) evicted += 1;
    }
    return evicted;
  }
}
