import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { JobCoalescer, type JobGroup } from '../../gateway/queue/job-coalescer.js';
import type { ValidInferRequest } from '../../workers/protocol/inference.js';
import { encodeJob } from '../../workers/queue/job-codec.js';

const request = (requestId: string, priority = 0): ValidInferRequest => ({
  requestId,
  model: 'm',
  version: '1',
  inputs: [],
  outputs: [],
  rows: 1,
  signature: 's',
  deadline: Date.now() + 10_000,
  priority,
});

function harness(busy: boolean) {
  const sent: { ids: string[]; at: number }[] = [];
  const started = performance.now();
  const coalescer = new JobCoalescer(
    (group: JobGroup) => sent.push({ ids: group.requests.map((r) => r.requestId), at: performance.now() - started }),
    () => busy,
  );
  return { coalescer, sent };
}

describe('JobCoalescer', () => {
  it('with nothing in flight, sends what one event-loop turn gathered at the end of that turn', async () => {
    const { coalescer, sent } = harness(false);
    const limits = { maxItems: 64, windowMs: 50 };
    coalescer.add('q', request('a'), limits);
    coalescer.add('q', request('b'), limits);
    expect(sent).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.map((s) => s.ids)).toEqual([['a', 'b']]);
    expect(sent[0]!.at).toBeLessThan(40);
  });

  it('while jobs are out, keeps gathering for the window, across turns', async () => {
    const { coalescer, sent } = harness(true);
    const limits = { maxItems: 64, windowMs: 40 };
    const first = coalescer.add('q', request('a'), limits);
    await new Promise((resolve) => setImmediate(resolve));
    const second = coalescer.add('q', request('b'), limits);
    expect(second.group).toBe(first.group);
    expect(second.item).toBe(1);
    expect(sent).toHaveLength(0);
    await sleep(80);
    expect(sent.map((s) => s.ids)).toEqual([['a', 'b']]);
    expect(sent[0]!.at).toBeGreaterThanOrEqual(35);
  });

  it("sends a gathering group at once when its queue goes idle, and only that queue's groups", async () => {
    const { coalescer, sent } = harness(true);
    const limits = { maxItems: 64, windowMs: 1_000 };
    coalescer.add('q', request('a'), limits);
    coalescer.add('q', request('b', 5), limits);
    coalescer.add('other', request('c'), limits);
    coalescer.queueIdle('q');
    expect(sent.map((s) => s.ids).sort()).toEqual([['a'], ['b']]);
    expect(sent.every((s) => s.at < 500)).toBe(true);
    coalescer.queueIdle('q'); // nothing left to send
    expect(sent).toHaveLength(2);
    const later = coalescer.add('q', request('d'), limits);
    expect(later.item).toBe(0); // a new group, not the one sent
  });

  it('sends a group as soon as it is full, and starts a new one', () => {
    const { coalescer, sent } = harness(true);
    const limits = { maxItems: 2, windowMs: 1_000 };
    coalescer.add('q', request('a'), limits);
    coalescer.add('q', request('b'), limits);
    expect(sent.map((s) => s.ids)).toEqual([['a', 'b']]);
    const next = coalescer.add('q', request('c'), limits);
    expect(next.item).toBe(0);
    expect(sent).toHaveLength(1);
  });

  it('never mixes queues or priorities in one job', async () => {
    const { coalescer, sent } = harness(false);
    const limits = { maxItems: 64, windowMs: 0 };
    coalescer.add('q', request('a'), limits);
    coalescer.add('q', request('b', 3), limits);
    coalescer.add('other', request('c'), limits);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.map((s) => s.ids).sort()).toEqual([['a'], ['b'], ['c']]);
  });

  it('a zero window sends at the end of the turn even while busy', async () => {
    const { coalescer, sent } = harness(true);
    coalescer.add('q', request('a'), { maxItems: 64, windowMs: 0 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.map((s) => s.ids)).toEqual([['a']]);
  });

  it('a request whose caller left while its group gathered is not sent; the others keep their item numbers', async () => {
    const groups: JobGroup[] = [];
    const coalescer = new JobCoalescer(
      (group) => groups.push(group),
      () => true,
    );
    const limits = { maxItems: 64, windowMs: 20 };
    const first = coalescer.add('q', request('a'), limits);
    coalescer.add('q', request('b'), limits);
    const third = coalescer.add('q', request('c'), limits);
    expect(coalescer.withdraw(first.group, first.item)).toBe(true);
    await sleep(40);
    expect(groups).toHaveLength(1);
    const job = encodeJob(groups[0]!.requests, 'gw', groups[0]!.withdrawn);
    expect(job.requests.map((encoded) => [encoded.item, encoded.requestId])).toEqual([
      [1, 'b'],
      [2, 'c'],
    ]);
    // Sent already: the worker's marker takes over.
    expect(coalescer.withdraw(third.group, third.item)).toBe(false);
  });

  it('a group whose callers all left is never sent', async () => {
    const { coalescer, sent } = harness(true);
    const limits = { maxItems: 64, windowMs: 20 };
    const joined = [coalescer.add('q', request('a'), limits), coalescer.add('q', request('b'), limits)];
    for (const { group, item } of joined) expect(coalescer.withdraw(group, item)).toBe(true);
    // A later request starts a new group rather than joining the abandoned one.
    const later = coalescer.add('q', request('c'), limits);
    expect(later.group).not.toBe(joined[0]!.group);
    await sleep(40);
    expect(sent.map((s) => s.ids)).toEqual([['c']]);
  });

  it("withdraws from the right tenant's group: groups are per tenant under fair share", async () => {
    const { coalescer, sent } = harness(true);
    const limits = { maxItems: 64, windowMs: 20 };
    const a = coalescer.add('q', { ...request('a'), tenant: 'acme' }, limits);
    coalescer.add('q', { ...request('b'), tenant: 'globex' }, limits);
    expect(coalescer.withdraw(a.group, a.item)).toBe(true);
    await sleep(40);
    expect(sent.map((s) => s.ids)).toEqual([['b']]);
  });
});
