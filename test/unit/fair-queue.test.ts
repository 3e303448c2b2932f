import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DynamicBatcher, type BatchItem } from '../../workers/batching/dynamic-batcher.js';
import { FairQueue, type FairItem } from '../../workers/batching/fair-queue.js';

interface Item extends FairItem {
  readonly id: string;
}

function queue(): {
  q: FairQueue<Item>;
  add: (tenant: string | undefined, count: number, extra?: Partial<Item>) => void;
  ids: () => string[];
} {
  const q = new FairQueue<Item>();
  const counts = new Map<string, number>();
  const add = (tenant: string | undefined, count: number, extra: Partial<Item> = {}): void => {
    for (let i = 0; i < count; i += 1) {
      const n = counts.get(tenant ?? '-') ?? 0;
      counts.set(tenant ?? '-', n + 1);
      q.push({ id: `${tenant ?? '-'}${n}`, rows: 1, priority: 0, ...(tenant !== undefined ? { tenant } : {}), ...extra });
    }
  };
  return { q, add, ids: () => q.items.map((item) => item.id) };
}

describe('FairQueue', () => {
  it("puts a second tenant's request next in line, not behind the first tenant's backlog", () => {
    const { q, add, ids } = queue();
    add('a', 6);
    add('b', 1);
    expect(ids()).toEqual(['a0', 'b0', 'a1', 'a2', 'a3', 'a4', 'a5']);
    // After a batch was sent, b's next request starts at the virtual time: at the head again.
    expect(q.take([0, 1, 2]).map((item) => item.id)).toEqual(['a0', 'b0', 'a1']);
    add('b', 1);
    expect(ids()).toEqual(['b1', 'a2', 'a3', 'a4', 'a5']);
  });

  it('alternates tenants that both have a backlog, by weight', () => {
    const { add, ids } = queue();
    add('a', 6, { weight: 2 });
    add('b', 3);
    expect(ids()).toEqual(['a0', 'b0', 'a1', 'a2', 'b1', 'a3', 'a4', 'b2', 'a5']);
  });

  it("counts rows: a tenant sending 4-row requests gets a 1-row tenant's turn per 4 rows", () => {
    const { add, ids } = queue();
    add('big', 2, { rows: 4 });
    add('small', 5);
    expect(ids()).toEqual(['big0', 'small0', 'small1', 'small2', 'small3', 'big1', 'small4']);
  });

  it('serves a better priority first whatever the tenants, and keeps arrival order without tenants', () => {
    const { add, ids } = queue();
    add(undefined, 3, { priority: 5 });
    add('a', 2, { priority: 1 });
    add(undefined, 1, { priority: 5 });
    add('b', 1, { priority: 1 });
    expect(ids()).toEqual(['a0', 'b0', 'a1', '-0', '-1', '-2', '-3']);
  });

  it('removes expired requests without moving the virtual time, and forgets a level once it is empty', () => {
    const { q, add, ids } = queue();
    add('a', 4);
    expect(q.removeWhere((item) => item.id === 'a1' || item.id === 'a3').map((item) => item.id)).toEqual(['a1', 'a3']);
    expect(q.size).toBe(2);
    q.take([0, 1]);
    // Empty: a's history is gone, so its new request does not queue behind its old tags.
    add('b', 1);
    add('a', 1);
    expect(ids()).toEqual(['b0', 'a4']);
  });
});

interface Queued extends BatchItem {
  readonly id: string;
}

describe('DynamicBatcher with tenants', () => {
  it("runs a quiet tenant's request in the next batch while a noisy one has a backlog", async () => {
    const batches: string[][] = [];
    const batcher = new DynamicBatcher<Queued>({ maxBatchSize: 4, preferredBatchSizes: [], maxQueueDelayMs: 5, maxQueueSize: 100 }, 1, {
      execute: async (_slot, items) => {
        batches.push(items.map((item) => item.id));
        await sleep(20);
      },
      onExpired: () => undefined,
    });
    const item = (id: string, tenant: string): Queued => ({
      id,
      tenant,
      rows: 1,
      signature: 's',
      priority: 0,
      enqueuedAt: Date.now(),
      deadline: Date.now() + 10_000,
    });
    for (let i = 0; i < 16; i += 1) batcher.enqueue(item(`a${i}`, 'a'));
    await sleep(5); // a's first batch is running
    batcher.enqueue(item('b0', 'b'));
    await batcher.drain();
    expect(batches[0]).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(batches[1]).toContain('b0');
  });
});

describe('decideBatch behind a fair queue', () => {
  it('counts max_queue_delay from the oldest request gathered, not from a newer one put first', async () => {
    const { decideBatch } = await import('../../workers/batching/batch-policy.js');
    const queue = [
      { rows: 1, signature: 's', enqueuedAt: 100 },
      { rows: 1, signature: 's', enqueuedAt: 40 },
    ];
    const settings = { maxBatchSize: 8, preferredBatchSizes: [], maxQueueDelayMs: 50 };
    expect(decideBatch(queue, { idle: 1, busy: 1 }, 95, settings)).toEqual({ kind: 'send', indexes: [0, 1], reason: 'delay-expired' });
    expect(decideBatch(queue, { idle: 1, busy: 1 }, 85, settings)).toEqual({ kind: 'wait', untilMs: 90 });
  });
});
