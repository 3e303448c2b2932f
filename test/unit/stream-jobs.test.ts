import { describe, expect, it } from 'vitest';
import { entryFields, handleOf, parseHandle, priorityClass, readEntry } from '../../workers/queue/stream-jobs.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { keySlot } from '../../workers/queue/key-slot.js';

describe('the streams engine layout', () => {
  it('maps priorities to three classes, best first: 0, 1-9, 10 and above', () => {
    expect([0, 1, 9, 10, 2 ** 21].map(priorityClass)).toEqual([0, 1, 1, 2, 2]);
  });

  it('reads back what it writes, and refuses an entry that is not a job', () => {
    const data = { format: 2 as const, replyTo: 'g', requests: [] };
    expect(readEntry(entryFields('job-1', data, 1234))).toEqual({ jobId: 'job-1', data, addedAt: 1234 });
    expect(readEntry(['j', 'job-1'])).toBeUndefined();
    expect(readEntry(['j', 'job-1', 'd', '{not json'])).toBeUndefined();
    expect(parseHandle(handleOf(2, '1700000000000-3'))).toEqual({ priorityClass: 2, entryId: '1700000000000-3' });
  });

  it("keeps a queue's streams, retries set and answered sets in the queue's slot (one XREADGROUP, MULTI or script each)", () => {
    const keys = redisKeys('sy');
    const queue = 'infer.mlp-classifier.1';
    const slots = new Set(
      [...keys.jobStreams(queue), keys.retries(queue), keys.answeredItems(queue, 'job'), keys.cancelledItems(queue, 'job')].map(keySlot),
    );
    expect(slots.size).toBe(1);
    expect(keys.jobStreams(queue)).toHaveLength(3);
  });
});
