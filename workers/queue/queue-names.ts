import { keySlot } from './key-slot.js';

/** Names of Switchyard's BullMQ queues (their Redis keys are named in redis-keys.ts). */
export function inferQueueName(model: string, version: string): string {
  // BullMQ forbids ':' in queue names.
  return `infer.${model}.${version}`;
}

const SLOTS = 16_384;
/** How close to its target slot a partition's name must hash. */
const SLOT_WINDOW = 32;
const named = new Map<string, readonly string[]>();

/**
 * The queues of a version served through `partitions` queues (model config `queue_partitions`).
 * The first is the unpartitioned queue's name, so going from 1 to N keeps the queue in use.
 * Each queue's name is its own hash tag (redis-keys.ts), so in a Redis Cluster each partition is
 * its own slot; partition p's name carries the smallest suffix that puts its slot p/N of the
 * slot space after the first one's. Spread evenly over the slots, N partitions land on N masters
 * of a cluster whose masters own equal slot ranges (what `redis-cli --cluster create` makes).
 */
export function inferQueueNames(model: string, version: string, partitions: number): readonly string[] {
  const first = inferQueueName(model, version);
  const key = `${first}\u0000${partitions}`;
  let names = named.get(key);
  if (!names) {
    const start = keySlot(first);
    const list = [first];
    for (let p = 1; p < partitions; p += 1) {
      const target = (start + Math.round((p * SLOTS) / partitions)) % SLOTS;
      let suffix = 0;
      while ((keySlot(`${first}.p${p}-${suffix}`) - target + SLOTS) % SLOTS >= SLOT_WINDOW) suffix += 1;
      list.push(`${first}.p${p}-${suffix}`);
    }
    named.set(key, (names = list));
  }
  return names;
}

export const DEAD_LETTER_QUEUE = 'dead-letters';
