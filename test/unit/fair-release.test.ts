import { describe, expect, it } from 'vitest';
import { FairRelease } from '../../gateway/queue/fair-release.js';
import { JobCoalescer, type JobGroup } from '../../gateway/queue/job-coalescer.js';
import type { ValidInferRequest } from '../../workers/protocol/inference.js';

let next = 0;
const request = (tenant: string, deadline = Date.now() + 10_000): ValidInferRequest => ({
  requestId: `${tenant}${next++}`,
  model: 'm',
  version: '1',
  inputs: [],
  outputs: [],
  rows: 1,
  signature: 's',
  deadline,
  priority: 0,
  tenant,
  weight: 1,
});

const group = (jobId: string, tenant: string, requests = 2, deadline?: number): JobGroup => ({
  jobId,
  queue: 'q',
  priority: 0,
  tenant,
  weight: 1,
  requests: Array.from({ length: requests }, () => request(tenant, deadline)),
  withdrawn: new Set<number>(),
});

describe('FairRelease', () => {
  it('holds a tenant past the intake, lets another tenant through at once, and releases as jobs are answered', () => {
    const sent: string[] = [];
    const release = new FairRelease((g) => sent.push(g.jobId));
    release.offer(group('a1', 'a'), 4);
    release.offer(group('a2', 'a'), 4);
    release.offer(group('a3', 'a'), 4); // a has 4 out: held
    release.offer(group('b1', 'b'), 4); // b has none out: straight through
    expect(sent).toEqual(['a1', 'a2', 'b1']);
    release.done('q', 'b1', 4);
    expect(sent).toEqual(['a1', 'a2', 'b1']);
    release.done('q', 'a1', 4);
    expect(sent).toEqual(['a1', 'a2', 'b1', 'a3']);
    expect(release.queues()).toEqual([]);
  });

  it("keeps a held tenant's order: a new group waits behind its own held ones", () => {
    const sent: string[] = [];
    const release = new FairRelease((g) => sent.push(g.jobId));
    release.offer(group('a1', 'a', 4), 4);
    release.offer(group('a2', 'a', 1), 4);
    release.done('q', 'unknown', 4);
    release.offer(group('a3', 'a', 1), 4);
    expect(sent).toEqual(['a1']);
    release.done('q', 'a1', 4);
    expect(sent).toEqual(['a1', 'a2', 'a3']);
  });

  it('holds nothing with no worker ready (intake 0), so queued work can start a pool scaled to zero', () => {
    const sent: string[] = [];
    const release = new FairRelease((g) => sent.push(g.jobId));
    for (let i = 0; i < 5; i += 1) release.offer(group(`a${i}`, 'a', 4), 0);
    expect(sent).toHaveLength(5);
  });

  it('drops a held group whose every request has expired instead of sending it', () => {
    const sent: string[] = [];
    const release = new FairRelease((g) => sent.push(g.jobId));
    release.offer(group('a1', 'a', 2), 2);
    release.offer(group('a2', 'a', 2, Date.now() - 1), 2);
    release.done('q', 'a1', 2);
    expect(sent).toEqual(['a1']);
    expect(release.queues()).toEqual([]);
  });
});

describe('JobCoalescer with tenants', () => {
  it("gathers each tenant's requests into jobs of their own, carrying the tenant and its weight", async () => {
    const groups: JobGroup[] = [];
    const coalescer = new JobCoalescer(
      (g) => groups.push(g),
      () => false,
    );
    coalescer.add('q', request('a'), { maxItems: 8, windowMs: 0 });
    coalescer.add('q', { ...request('b'), weight: 3 }, { maxItems: 8, windowMs: 0 });
    coalescer.add('q', request('a'), { maxItems: 8, windowMs: 0 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(groups.map((g) => [g.tenant, g.weight, g.requests.length])).toEqual([
      ['a', 1, 2],
      ['b', 3, 1],
    ]);
  });

  it("withdraws a tenant's request from its own gathering group", async () => {
    const groups: JobGroup[] = [];
    const coalescer = new JobCoalescer(
      (g) => groups.push(g),
      () => false,
    );
    const kept = coalescer.add('q', request('a'), { maxItems: 8, windowMs: 0 });
    const left = coalescer.add('q', request('a'), { maxItems: 8, windowMs: 0 });
    const alone = coalescer.add('q', request('b'), { maxItems: 8, windowMs: 0 });
    expect(coalescer.withdraw(left.group, left.item)).toBe(true);
    expect(coalescer.withdraw(alone.group, alone.item)).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(groups).toEqual([kept.group]);
    expect([...groups[0]!.withdrawn]).toEqual([left.item]);
  });

  it('withdraws a held request: the group goes without it, and a group with nothing wanted is dropped', () => {
    const sent: JobGroup[] = [];
    const release = new FairRelease((g) => sent.push(g));
    const first = { ...group('a1', 'a', 2), withdrawn: new Set<number>() };
    const partly = { ...group('a2', 'a', 2), withdrawn: new Set<number>() };
    const gone = { ...group('a3', 'a', 1), withdrawn: new Set<number>() };
    for (const g of [first, partly, gone]) release.offer(g, 2);
    expect(release.withdraw(first, 0)).toBe(false); // sent already
    expect(release.withdraw(partly, 1)).toBe(true);
    expect(release.withdraw(gone, 0)).toBe(true);
    release.done('q', 'a1', 2);
    expect(sent.map((g) => g.jobId)).toEqual(['a1', 'a2']);
    expect([...sent[1]!.withdrawn]).toEqual([1]);
    expect(release.queues()).toEqual([]);
  });
});
