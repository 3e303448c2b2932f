import type { ResponseCacheConfig } from '../../workers/repository/model-config.js';

/** Where the entries live: this process's memory (embedded) or Redis (distributed, shared by every gateway). */
export interface CacheStore {
  /** The entry's bytes, or undefined (never stored, expired or evicted). */
  get(model: string, key: string, settings: ResponseCacheConfig): Promise<Uint8Array | undefined>;
  /** Keeps an entry within the model's bound; says how many older entries it evicted. */
  set(model: string, key: string, entry: Buffer, settings: ResponseCacheConfig): Promise<number>;
  /** Bytes held per model (entries and their keys), for the metrics. */
  bytes(): Promise<ReadonlyMap<string, number>>;
}

/** What one entry counts against `max_bytes`: its bytes and its key's. */
export function entrySize(key: string, entry: Uint8Array): number {
  return entry.byteLength + key.length;
}
