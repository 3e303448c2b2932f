import { describe, expect, it } from 'vitest';
import { decideBatch, type BatchSettings, type Queued } from '../../workers/batching/batch-policy.js';

const settings: BatchSettings = { maxBatchSize: 8, preferredBatchSizes: [4], maxQueueDelayMs: 10 };
const item = (rows: number, signature = 'a', enqueuedAt = 0): Queued => ({ rows, signature, enqueuedAt });
const many = (count: number, rows = 1, signature = 'a'): Queued[] => Array.from({ length: count }, () => item(rows, signature));
const grouped = (count: number, group: string): Queued[] => Array.from({ length: count }, () => ({ ...item(1), group }));

describe('decideBatch', () => {
  const cases: { name: string; queue: Queued[]; idle: number; busy: number; now: number; expect: ReturnType<typeof decideBatch> }[] = [
    { name: 'empty queue is idle', queue: [], idle: 1, busy: 0, now: 0, expect: { kind: 'idle' } },
    { name: 'no free instance is idle', queue: many(3), idle: 0, busy: 1, now: 100, expect: { kind: 'idle' } },
    {
      name: 'a lone request on an idle server goes at once',
      queue: [item(1)],
      idle: 1,
      busy: 0,
      now: 0,
      expect: { kind: 'send', indexes: [0], reason: 'idle-instances' },
    },
    {
      name: 'max batch goes at once',
      queue: many(9),
      idle: 1,
      busy: 1,
      now: 0,
      expect: { kind: 'send', indexes: [0, 1, 2, 3, 4, 5, 6, 7], reason: 'full' },
    },
    {
      name: "a full batch ends before a queue job's requests it would split, which go whole next",
      queue: [...grouped(5, 'job-a'), ...grouped(5, 'job-b')],
      idle: 1,
      busy: 0,
      now: 0,
      expect: { kind: 'send', indexes: [0, 1, 2, 3, 4], reason: 'full' },
    },
    {
      name: 'a job larger than the cap is split, since nothing else would run',
      queue: grouped(10, 'job-a'),
      idle: 1,
      busy: 0,
      now: 0,
      expect: { kind: 'send', indexes: [0, 1, 2, 3, 4, 5, 6, 7], reason: 'full' },
    },
    {
      name: 'requests of no group fill the cap as before, beside a job',
      queue: [...many(3), ...grouped(4, 'job-a'), ...many(3)],
      idle: 1,
      busy: 1,
      now: 0,
      expect: { kind: 'send', indexes: [0, 1, 2, 3, 4, 5, 6, 7], reason: 'full' },
    },
    {
      name: 'an idle server sends everything queued in one run, not a preferred size and a remainder',
      queue: many(6),
      idle: 1,
      busy: 0,
      now: 0,
      expect: { kind: 'send', indexes: [0, 1, 2, 3, 4, 5], reason: 'idle-instances' },
    },
    {
      name: 'preferred size goes at once while others are busy',
      queue: many(5),
      idle: 1,
      busy: 1,
      now: 0,
      expect: { kind: 'send', indexes: [0, 1, 2, 3], reason: 'preferred' },
    },
    {
      name: 'below preferred waits for the delay while others are busy',
      queue: many(3),
      idle: 1,
      busy: 1,
      now: 4,
      expect: { kind: 'wait', untilMs: 10 },
    },
    {
      name: 'delay expired sends what there is',
      queue: many(3),
      idle: 1,
      busy: 1,
      now: 10,
      expect: { kind: 'send', indexes: [0, 1, 2], reason: 'delay-expired' },
    },
    {
      name: 'multi-row requests count rows',
      queue: [item(3), item(3), item(3)],
      idle: 1,
      busy: 1,
      now: 0,
      expect: { kind: 'send', indexes: [0, 1], reason: 'full' },
    },
    {
      name: 'preferred size reached by multi-row prefix',
      queue: [item(2), item(2), item(1)],
      idle: 1,
      busy: 1,
      now: 0,
      expect: { kind: 'send', indexes: [0, 1], reason: 'preferred' },
    },
    {
      name: 'other signatures are skipped, never mixed',
      queue: [item(1, 'a'), item(1, 'b'), item(1, 'a'), item(1, 'b')],
      idle: 1,
      busy: 0,
      now: 0,
      expect: { kind: 'send', indexes: [0, 2], reason: 'idle-instances' },
    },
    {
      name: 'an oversized head is still sent (never stalls)',
      queue: [item(9)],
      idle: 1,
      busy: 0,
      now: 0,
      expect: { kind: 'send', indexes: [0], reason: 'full' },
    },
  ];
  it.each(cases)('$name', ({ queue, idle, busy, now, expect: expected }) => {
    expect(decideBatch(queue, { idle, busy }, now, settings)).toEqual(expected);
  });

  it('prefers the largest preferred size it can form', () => {
    const decision = decideBatch(many(20), { idle: 1, busy: 1 }, 0, {
      maxBatchSize: 64,
      preferredBatchSizes: [8, 16, 32],
      maxQueueDelayMs: 5,
    });
    expect(decision).toMatchObject({ kind: 'send', reason: 'preferred' });
    expect(decision.kind === 'send' && decision.indexes.length).toBe(16);
  });

  it('a model without batching sends one request at a time', () => {
    expect(decideBatch(many(3), { idle: 1, busy: 0 }, 0, { maxBatchSize: 1, preferredBatchSizes: [], maxQueueDelayMs: 5 })).toEqual({
      kind: 'send',
      indexes: [0],
      reason: 'full',
    });
  });

  describe('with a batch cap', () => {
    const capped: BatchSettings = { maxBatchSize: 16, preferredBatchSizes: [4, 16], maxQueueDelayMs: 10, batchCap: 2 };
    const cases: { name: string; queue: Queued[]; busy: number; now: number; expect: ReturnType<typeof decideBatch> }[] = [
      {
        name: 'rows reaching the cap go at once',
        queue: many(3),
        busy: 1,
        now: 0,
        expect: { kind: 'send', indexes: [0, 1], reason: 'capped' },
      },
      {
        name: 'an idle server sends at most the cap',
        queue: many(6),
        busy: 0,
        now: 0,
        expect: { kind: 'send', indexes: [0, 1], reason: 'capped' },
      },
      {
        name: 'a backlog with a full batch waited past its delay still gets the cap',
        queue: many(40),
        busy: 1,
        now: 1_000,
        expect: { kind: 'send', indexes: [0, 1], reason: 'capped' },
      },
      {
        name: 'preferred sizes above the cap are never waited for',
        queue: many(1),
        busy: 1,
        now: 4,
        expect: { kind: 'wait', untilMs: 10 },
      },
      {
        name: 'below the cap the delay still applies',
        queue: many(1),
        busy: 1,
        now: 10,
        expect: { kind: 'send', indexes: [0], reason: 'delay-expired' },
      },
      {
        name: 'a request larger than the cap runs alone',
        queue: [item(5), item(1)],
        busy: 1,
        now: 0,
        expect: { kind: 'send', indexes: [0], reason: 'capped' },
      },
      {
        name: 'one larger than the cap behind the head waits for the next batch',
        queue: [item(1), item(5)],
        busy: 1,
        now: 0,
        expect: { kind: 'send', indexes: [0], reason: 'capped' },
      },
    ];
    it.each(cases)('$name', ({ queue, busy, now, expect: expected }) => {
      expect(decideBatch(queue, { idle: 1, busy }, now, capped)).toEqual(expected);
    });

    it('a cap at max_batch_size changes nothing', () => {
      expect(decideBatch(many(9), { idle: 1, busy: 1 }, 0, { ...settings, batchCap: 8 })).toEqual(
        decideBatch(many(9), { idle: 1, busy: 1 }, 0, settings),
      );
    });
  });
});
