import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { redisKeys, type RedisKeys } from '../../workers/queue/redis-keys.js';
import type { ResponseCacheConfig } from '../../workers/repository/model-config.js';
import { entrySize, type CacheStore } from './cache-store.js';

/**
 * Writes an entry and keeps the model's bytes within max_bytes, atomically for every gateway:
 * KEYS entry, index, sizes, bytes; ARGV digest, entry, size, ttl ms, max bytes, now ms, entry prefix.
 * Entries expire by themselves (PX); their index rows go when evicted, and the oldest are
 * checked on each write, so the byte count is never below what the entries hold. Victims'
 * keys are built from the prefix: they share the tag, so the script stays in one slot.
 */
const SET = `
local old = redis.call('HGET', KEYS[3], ARGV[1])
if old then redis.call('DECRBY', KEYS[4], old) end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
local bytes = redis.call('INCRBY', KEYS[4], ARGV[3])
local evicted = 0
local function drop(member)
  local size = redis.call('HGET', KEYS[3], member)
  redis.call('HDEL', KEYS[3], member)
  redis.call('ZREM', KEYS[2], member)
  if size then bytes = redis.call('DECRBY', KEYS[4], size) end
  return redis.call('DEL', ARGV[7] .. member)
end
while bytes > tonumber(ARGV[5]) do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)
  if #oldest == 0 then break end
  evicted = evicted + drop(oldest[1])
end
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, 1)) do
  if member ~= ARGV[1] and redis.call('EXISTS', ARGV[7] .. member) == 0 then drop(member) end
end
for i = 2, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
return evicted
`;

/** Distributed mode: entries in Redis, shared by every gateway; one bound (max_bytes) per model across them. */
export class RedisCacheStore implements CacheStore {
  readonly #keys: RedisKeys;
  readonly #models = new Set<string>();

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.#keys = redisKeys(prefix);
  }

  async get(model: string, key: string): Promise<Uint8Array | undefined> {
    const keys = this.#keys.responseCache(model);
    this.#models.add(model);
    const entry = await this.redis.getBuffer(keys.entryPrefix + key);
    if (!entry) return undefined;
    // Recency for the LRU, off the answer's path: XX, so an entry evicted meanwhile is not indexed again.
    this.redis.zadd(keys.index, 'XX', this.now(), key).catch(() => undefined);
    return entry;
  }

  async set(model: string, key: string, entry: Buffer, settings: ResponseCacheConfig): Promise<number> {
    const size = entrySize(key, entry);
    if (size > settings.max_bytes) return 0;
    const keys = this.#keys.responseCache(model);
    this.#models.add(model);
    const args = [
      key,
      entry,
      String(size),
      String(settings.ttl_s * 1000),
      String(settings.max_bytes),
      String(this.now()),
      keys.entryPrefix,
    ];
    return Number(await this.redis.eval(SET, 4, keys.entryPrefix + key, keys.index, keys.sizes, keys.bytes, ...args));
  }

  /** The models this gateway has used the cache for: their byte counts, as every gateway shares them. */
  async bytes(): Promise<ReadonlyMap<string, number>> {
    const models = [...this.#models];
    const counts = await Promise.all(models.map((model) => this.redis.get(this.#keys.responseCache(model).bytes)));
    return new Map(models.map((model, index) => [model, Number(counts[index] ?? 0)]));
  }
}
