import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { PartitionPicker } from '../../gateway/queue/partition-picker.js';
import { keySlot } from '../../workers/queue/key-slot.js';
import { inferQueueName, inferQueueNames } from '../../workers/queue/queue-names.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { modelConfigSchema } from '../../workers/repository/model-config.js';

// ioredis's own slot function (a dependency of ioredis), to check ours against.
const ioredisSlot = createRequire(createRequire(import.meta.url).resolve('ioredis'))('cluster-key-slot') as (key: string) => number;

const config = {
  name: 'm',
  platform: 'onnx',
  versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
  max_batch_size: 8,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [2] }],
  price: { usd_per_compute_second: 0.001 },
};

describe('key slots', () => {
  it('match the Cluster specification and ioredis', () => {
    expect(keySlot('123456789')).toBe(0x31c3 % 16_384); // the specification's CRC16 check value
    expect(keySlot('foo{bar}zap')).toBe(keySlot('bar'));
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar')); // an empty tag: the whole key is hashed
    for (const key of ['user:1000', 'héllo', '{infer.mlp-classifier.1}', 'sw:{infer.m.2.p1-7}:infer.m.2.p1-7:wait', '']) {
      expect(keySlot(key)).toBe(ioredisSlot(key));
    }
  });
});

describe('partition queue names', () => {
  it('the first is the unpartitioned name; the others are distinct, stable and BullMQ-safe', () => {
    expect(inferQueueNames('mlp', '1', 1)).toEqual([inferQueueName('mlp', '1')]);
    const names = inferQueueNames('mlp', '1', 4);
    expect(names[0]).toBe('infer.mlp.1');
    expect(new Set(names).size).toBe(4);
    for (const name of names) expect(name).not.toContain(':');
    expect(inferQueueNames('mlp', '1', 4)).toEqual(names);
  });

  it('each partition hashes to its own slot, spaced evenly over the slot space', () => {
    for (const partitions of [2, 3, 8]) {
      const slots = inferQueueNames('mlp-classifier', '1', partitions).map((name) => keySlot(redisKeys('sw').waiting(name).wait));
      slots.forEach((slot, p) => {
        const offset = (slot - slots[0]! + 16_384) % 16_384;
        const target = Math.round((p * 16_384) / partitions);
        expect(offset - target).toBeGreaterThanOrEqual(0);
        expect(offset - target).toBeLessThan(32);
      });
      // On masters owning equal slot ranges (redis-cli --cluster create), N partitions hit N masters.
      const master = (slot: number): number => Math.floor((slot * partitions) / 16_384);
      const hit = new Set(slots.map(master));
      expect(hit.size).toBeGreaterThanOrEqual(partitions - 1); // a boundary may split one pair
    }
  });
});

describe('partition picker', () => {
  it('hands out a version’s queues in turn, and maps each back to the version’s first queue', () => {
    const picker = new PartitionPicker();
    const queues = ['a', 'a.p1', 'a.p2'];
    expect(Array.from({ length: 6 }, () => picker.pick(queues))).toEqual(['a', 'a.p1', 'a.p2', 'a', 'a.p1', 'a.p2']);
    expect(picker.versionQueue('a.p2')).toBe('a');
    expect(picker.pick(['b'])).toBe('b');
    expect(picker.versionQueue('b')).toBe('b');
  });
});

describe('queue_partitions in the model config', () => {
  it('defaults to 1 and takes 1 to 64', () => {
    expect(modelConfigSchema.parse(config).queue_partitions).toBe(1);
    expect(modelConfigSchema.parse({ ...config, queue_partitions: 3 }).queue_partitions).toBe(3);
    for (const bad of [0, 65, 1.5, '2']) expect(modelConfigSchema.safeParse({ ...config, queue_partitions: bad }).success).toBe(false);
  });
});
