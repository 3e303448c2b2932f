import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';

/**
 * The bench's own view of Redis: server-wide memory, and the keys under one prefix.
 * It reads anything but deletes only under the prefix it is given (the Redis is shared).
 */
export class RedisProbe {
  readonly #redis: Redis;

  private constructor(redis: Redis) {
    this.#redis = redis;
  }

  /** Connects and PINGs; throws with the reason when Redis cannot be reached. */
  static async connect(url: string): Promise<RedisProbe> {
    const redis = new Redis(url, { connectionName: 'switchyard-bench', maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: true });
    redis.on('error', () => undefined); // failed commands reject; that is where errors surface
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      throw new Error(`Redis at ${url} cannot be reached: ${(error as Error).message}`);
    }
    return new RedisProbe(redis);
  }

  /** INFO memory used_memory: bytes allocated by the whole server (shared with anyone else using it). */
  async usedMemory(): Promise<number> {
    return Number(field(await this.#redis.info('memory'), 'used_memory'));
  }

  /** The redis-server's pid when it runs on this machine (so its CPU can be read), else undefined. */
  async localServerPid(): Promise<number | undefined> {
    const pid = Number(field(await this.#redis.info('server'), 'process_id'));
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const name = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    return name.includes('redis') ? pid : undefined;
  }

  /** Every key under `prefix:` (SCAN MATCH, COUNT 1000: no blocking KEYS on a shared server). */
  async prefixKeys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.#redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return [...new Set(keys)]; // SCAN may return a key twice
  }

  /** MEMORY USAGE of each key (SAMPLES 0: every field, not an estimate), 500 per pipeline; keys gone meanwhile count 0. */
  async memoryUsage(keys: readonly string[]): Promise<number[]> {
    const sizes: number[] = [];
    for (let from = 0; from < keys.length; from += 500) {
      const pipeline = this.#redis.pipeline();
      for (const key of keys.slice(from, from + 500)) pipeline.memory('USAGE', key, 'SAMPLES', 0);
      for (const [error, size] of (await pipeline.exec()) ?? []) sizes.push(error ? 0 : Number(size ?? 0));
    }
    return sizes;
  }

  async type(key: string): Promise<string> {
    return this.#redis.type(key);
  }

  /** Entries in a stream, zset, list, hash or set (by its TYPE); undefined for strings and keys gone. */
  async length(key: string, type: string): Promise<number | undefined> {
    switch (type) {
      case 'stream':
        return this.#redis.xlen(key);
      case 'zset':
        return this.#redis.zcard(key);
      case 'list':
        return this.#redis.llen(key);
      case 'hash':
        return this.#redis.hlen(key);
      case 'set':
        return this.#redis.scard(key);
      default:
        return undefined;
    }
  }

  /** Deletes every key under `prefix:`; returns how many. */
  async deletePrefix(prefix: string): Promise<number> {
    const keys = await this.prefixKeys(prefix);
    for (let from = 0; from < keys.length; from += 500) await this.#redis.del(...keys.slice(from, from + 500));
    return keys.length;
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}
