import { describe, expect, it } from 'vitest';
import { PendingReplies } from '../../gateway/queue/pending-replies.js';
import type { InferResult } from '../../workers/protocol/inference.js';

const result = (value: number): InferResult => ({
  model: 'm',
  version: '1',
  outputs: [{ name: 'y', datatype: 'FP32', shape: [1], data: new Float32Array([value]) }],
  timings: { queueMs: 0, computeMs: 1, batchSize: 1, batchRows: 1 },
});

/**
 * A job taken over after its first worker stalled may be answered twice (both workers ran it);
 * a gateway settles each request once and drops the second reply.
 */
describe('PendingReplies', () => {
  it('settles each item once: a second reply for it is dropped, and the job is settled once', async () => {
    const settled: string[] = [];
    const pending = new PendingReplies((jobId) => settled.push(jobId));
    const first = pending.wait('job', 0, 'q', Date.now() + 5_000, 'r0');
    const second = pending.wait('job', 1, 'q', Date.now() + 5_000, 'r1');
    pending.deliver({ jobId: 'job', items: [{ item: 0, ok: true, result: result(1) }] });
    pending.deliver({
      jobId: 'job',
      items: [
        { item: 0, ok: true, result: result(2) },
        { item: 1, ok: true, result: result(3) },
      ],
    });
    pending.deliver({ jobId: 'job', items: [{ item: 1, ok: false, code: 'inference_failed', message: 'late' }] });
    expect(Array.from((await first).outputs[0]!.data as Float32Array)).toEqual([1]);
    expect(Array.from((await second).outputs[0]!.data as Float32Array)).toEqual([3]);
    expect(settled).toEqual(['job']);
  });
});
