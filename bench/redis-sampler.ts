import { countByGroup } from './redis-key-groups.js';
import type { RedisProbe } from './redis-probe.js';
import { round } from './stats.js';

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
  /** XLEN of every stream key under the prefix (the queue's events, the gateway's replies), by shape. */
  readonly streamLengths: Record<string, number>;
}

/**
 * Samples Redis once a second: server memory, and the keys under one prefix counted by
 * shape (SCAN COUNT, names only). Samples never overlap; a slow one makes the next tick skip.
 */
export class RedisSampler {
  readonly #probe: RedisProbe;
  readonly #prefix: string;
  readonly #streams: Record<string, string>;
  readonly #samples: RedisSample[] = [];
  readonly #started = Date.now();
  #phase = 'start';
  #timer: NodeJS.Timeout | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #pending = 0;

  /** `streams`: shape -> key of the streams to XLEN (a shape with several keys sums them). */
  constructor(probe: RedisProbe, prefix: string, streams: Record<string, string>) {
    this.#probe = probe;
    this.#prefix = prefix;
    this.#streams = streams;
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
    const streamLengths: Record<string, number> = {};
    for (const [shape, key] of Object.entries(this.#streams)) streamLengths[shape] = await this.#probe.streamLength(key);
    for (const key of keys.filter((k) => k.startsWith(`${this.#prefix}:replies:`))) {
      streamLengths['replies:<id>'] = (streamLengths['replies:<id>'] ?? 0) + (await this.#probe.streamLength(key));
    }
    const sample: RedisSample = {
      second: round((Date.now() - this.#started) / 1000, 1),
      phase,
      usedMemoryBytes,
      prefixKeys: keys.length,
      keysByGroup: countByGroup(keys, this.#prefix),
      streamLengths,
    };
    this.#samples.push(sample);
    return sample;
  }
}
