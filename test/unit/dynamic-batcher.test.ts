import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DynamicBatcher, type BatchItem } from '../../workers/batching/dynamic-batcher.js';

interface Item extends BatchItem {
  readonly id: number;
}

function harness(options: { slots?: number; maxQueueSize?: number; maxQueueDelayMs?: number; runMs?: number } = {}) {
  const batches: { slot: number; ids: number[]; at: number }[] = [];
  const expired: number[] = [];
  const started = Date.now();
  const batcher = new DynamicBatcher<Item>(
    { maxBatchSize: 4, preferredBatchSizes: [], maxQueueDelayMs: options.maxQueueDelayMs ?? 50, maxQueueSize: options.maxQueueSize ?? 100 },
    options.slots ?? 1,
    {
      execute: async (slot, items) => {
        batches.push({ slot, ids: items.map((item) => item.id), at: Date.now() - started });
        await sleep(options.runMs ?? 20);
      },
      onExpired: (item) => expired.push(item.id),
    },
  );
  let next = 0;
  const add = (fields: Partial<Item> = {}) =>
    batcher.enqueue({ id: next++, rows: 1, signature: 's', enqueuedAt: Date.now(), deadline: Date.now() + 10_000, priority: 0, ...fields });
  return { batcher, batches, expired, add };
}

describe('DynamicBatcher', () => {
  it('sends a lone request at once instead of waiting out max_queue_delay', async () => {
    const { batches, add } = harness({ maxQueueDelayMs: 500 });
    add();
    await sleep(30);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.at).toBeLessThan(100);
  });

  it('batches requests that arrive in the same tick, and those queued while the instance is busy', async () => {
    const { batches, add, batcher } = harness({ runMs: 30 });
    for (let i = 0; i < 6; i += 1) add();
    await batcher.drain();
    expect(batches.map((b) => b.ids)).toEqual([
      [0, 1, 2, 3],
      [4, 5],
    ]);
  });

  it('refuses beyond max_queue_size', () => {
    const { add } = harness({ maxQueueSize: 2 });
    expect([add(), add(), add()]).toEqual(['queued', 'queued', 'queue-full']);
  });

  it('expires requests that wait past their deadline, without running them', async () => {
    const { add, expired, batches, batcher } = harness({ runMs: 80 });
    add(); // occupies the only slot
    await sleep(5);
    add({ deadline: Date.now() + 20 });
    await sleep(120);
    await batcher.drain();
    expect(expired).toEqual([1]);
    expect(batches.flatMap((b) => b.ids)).toEqual([0]);
  });

  it('serves lower priority numbers first', async () => {
    const { add, batches, batcher } = harness({ runMs: 20 });
    add(); // runs alone at once
    await sleep(5);
    for (let i = 0; i < 4; i += 1) add({ priority: 5 });
    for (let i = 0; i < 4; i += 1) add({ priority: 1 });
    await batcher.drain();
    expect(batches.map((b) => b.ids)).toEqual([[0], [5, 6, 7, 8], [1, 2, 3, 4]]);
  });

  it('uses every instance slot', async () => {
    const { add, batches, batcher } = harness({ slots: 2, runMs: 40 });
    for (let i = 0; i < 8; i += 1) add();
    await sleep(10);
    expect(new Set(batches.map((b) => b.slot))).toEqual(new Set([0, 1]));
    await batcher.drain();
  });

  it('stops accepting once draining', async () => {
    const { add, batcher } = harness();
    add();
    const drained = batcher.drain();
    expect(add()).toBe('closed');
    await drained;
  });

  it('a removed item leaves the queue and is never batched; one already in a batch cannot be removed', async () => {
    const batches: number[][] = [];
    const batcher = new DynamicBatcher<Item>({ maxBatchSize: 4, preferredBatchSizes: [], maxQueueDelayMs: 50, maxQueueSize: 100 }, 1, {
      execute: async (_slot, items) => {
        batches.push(items.map((item) => item.id));
        await sleep(30);
      },
      onExpired: () => undefined,
    });
    const item = (id: number): Item => ({
      id,
      rows: 1,
      signature: 's',
      enqueuedAt: Date.now(),
      deadline: Date.now() + 10_000,
      priority: 0,
    });
    const running = item(0);
    batcher.enqueue(running);
    await sleep(5); // in its batch now
    const queued = [item(1), item(2), item(3)];
    for (const entry of queued) batcher.enqueue(entry);
    expect(batcher.remove(queued[1]!)).toBe(true);
    expect(batcher.remove(queued[1]!)).toBe(false);
    expect(batcher.remove(running)).toBe(false);
    expect(batcher.queued).toBe(2);
    await batcher.drain();
    expect(batches).toEqual([[0], [1, 3]]);
  });
});
