import type { RedisProbe } from './redis-probe.js';

/** Keys of one shape (per-job hashes, a queue's events stream, ...) under the prefix. */
export interface KeyGroup {
  /** The key without the prefix, ids replaced: `infer.mlp-classifier.1:<id>`. */
  readonly group: string;
  readonly keys: number;
  /** Sum of MEMORY USAGE over the group's keys. */
  readonly bytes: number;
}

export interface KeyCensus {
  readonly keys: number;
  readonly bytes: number;
  /** Largest first. */
  readonly groups: KeyGroup[];
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const DAY = /\b\d{4}-\d{2}-\d{2}\b/g;

/** The shape of a key: job, gateway and worker ids and days folded, so counts show what grows. */
export function keyGroup(key: string, prefix: string): string {
  const rest = key.startsWith(`${prefix}:`) ? key.slice(prefix.length + 1) : key;
  if (rest.startsWith('{workers}:')) return '{workers}:<worker-id>';
  return rest.replace(UUID, '<id>').replace(DAY, '<day>');
}

/** Keys per shape, from names alone (cheap enough to take every second). */
export function countByGroup(keys: readonly string[], prefix: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of keys) {
    const group = keyGroup(key, prefix);
    counts[group] = (counts[group] ?? 0) + 1;
  }
  return counts;
}

/** Every key under the prefix with its MEMORY USAGE, summed per shape. */
export async function keyCensus(probe: RedisProbe, prefix: string): Promise<KeyCensus> {
  const keys = await probe.prefixKeys(prefix);
  const sizes = await probe.memoryUsage(keys);
  const groups = new Map<string, { keys: number; bytes: number }>();
  keys.forEach((key, index) => {
    const group = keyGroup(key, prefix);
    const entry = groups.get(group) ?? { keys: 0, bytes: 0 };
    entry.keys += 1;
    entry.bytes += sizes[index] ?? 0;
    groups.set(group, entry);
  });
  return {
    keys: keys.length,
    bytes: sizes.reduce((sum, size) => sum + size, 0),
    groups: [...groups].map(([group, entry]) => ({ group, ...entry })).sort((a, b) => b.bytes - a.bytes),
  };
}
