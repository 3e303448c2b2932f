import { countByGroup, keyGroup } from './redis-key-groups.js';
import type { RedisProbe } from './redis-probe.js';
import { round } from './stats.js';

/** Shapes with more keys than this (one hash per job) are counted, not measured inside. */
const FEW_KEYS = 3;

export interface RedisSample {
  /** Seconds since the sampler started. */
  readonly second: number;
  /** What the soak was doing: 'load', 'retention wait', ... */
  readonly phase: string;
  /** INFO memory used_memory, whole server. */
  readonly usedMemoryBytes: number;
  readonly prefixKeys: number;
  /** Keys per shape (see redis-key-groups.ts): shows which kind of key grows. */
  readonly keysByGroup: Record<string, number>;
  /**
   * Entries held by each shape of at most a few keys (a queue's events stream, its
   * completed zset, the reply stream, the audit stream): XLEN, ZCARD, LLEN, HLEN or SCARD
   * by the key's type. Keys that exist once can grow inside; their count cannot show it.
   */
  readonly entries: Record<string, number>;
}

/**
 * Samples Redis once a second: server memory, the keys under one prefix counted by
 * shape (SCAN COUNT, names only), and the entries in its few-of-a-kind keys. Samples
 * never overlap; a slow one makes the next tick skip.
 */
export class RedisSampler {
  readonly #probe: RedisProbe;
  readonly #prefix: string;
  readonly #types = new Map<string, string>();
  readonly #samples: RedisSample[] = [];
  readonly #started = Date.now();
  #phase = 'start';
  #timer: NodeJS.Timeout | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #pending = 0;

  constructor(probe: RedisProbe, prefix: string) {
    this.#probe = probe;
    this.#prefix = prefix;
  }

  get samples(): readonly RedisSample[] {
    return this.#samples;
  }

  start(phase: string): void {
    this.#phase = phase;
    void this.sample().catch(() => undefined);
    // A tick while a sample is still being taken is skipped, so samples never pile up.
    this.#timer = setInterval(() => {
      if (this.#pending === 0) void this.sample().catch(() => undefined);
    }, 1000);
  }

  /** Later samples are labelled `phase`. */
  mark(phase: string): void {
    this.#phase = phase;
  }

  /** One sample now (after any in progress), also kept in the series. */
  sample(): Promise<RedisSample> {
    this.#pending += 1;
    const next = this.#chain.then(() => this.#take()).finally(() => (this.#pending -= 1));
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async stop(): Promise<RedisSample[]> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#chain;
    return [...this.#samples];
  }

  async #take(): Promise<RedisSample> {
    const phase = this.#phase;
    const usedMemoryBytes = await this.#probe.usedMemory();
    const keys = await this.#probe.prefixKeys(this.#prefix);
    const keysByGroup = countByGroup(keys, this.#prefix);
    const entries: Record<string, number> = {};
    for (const key of keys) {
      const group = keyGroup(key, this.#prefix);
      if ((keysByGroup[group] ?? 0) > FEW_KEYS) continue;
      const type = this.#types.get(key) ?? (await this.#probe.type(key));
      this.#types.set(key, type);
      const length = await this.#probe.length(key, type);
      if (length !== undefined) entries[group] = (entries[group] ?? 0) + length;
    }
    const sample: RedisSample = {
      second: round((Date.now() - this.#started) / 1000, 1),
      phase,
      usedMemoryBytes,
      prefixKeys: keys.length,
      keysByGroup,
      entries,
    };
    this.#samples.push(sample);
    return sample;
  }
}
