import { describe, expect, it } from 'vitest';
import { entryFields, handleOf, parseHandle, priorityClass, readEntry } from '../../workers/queue/stream-jobs.js';
import { redisKeys } from '../../workers/queue/redis-keys.js';
import { keySlot } from '../../workers/queue/key-slot.js';
import { decodeJob, encodeJob, jobJson } from '../../workers/queue/job-codec.js';

/** Fields as a worker reads them (ioredis's Buffer replies). */
const asRead = (fields: readonly (string | Buffer)[]): Buffer[] => fields.map((field) => Buffer.from(field));

const request = (requestId: string, values: number[]) => ({
  requestId,
  model: 'm',
  version: '1',
  inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [1, values.length], data: Float32Array.from(values) }],
  outputs: [],
  rows: 1,
  signature: `x:${values.length}`,
  deadline: 9,
  priority: 0,
});

describe('the streams engine layout', () => {
  it('maps priorities to three classes, best first: 0, 1-9, 10 and above', () => {
    expect([0, 1, 9, 10, 2 ** 21].map(priorityClass)).toEqual([0, 1, 1, 2, 2]);
  });

  it('reads back what it writes, and refuses an entry that is not a job', () => {
    const data = { format: 2 as const, replyTo: 'g', requests: [] };
    expect(readEntry(asRead(entryFields('job-1', data, 1234)))).toEqual({ jobId: 'job-1', data, addedAt: 1234 });
    expect(readEntry(asRead(['j', 'job-1']))).toBeUndefined();
    expect(readEntry(asRead(['j', 'job-1', 'd', '{not json']))).toBeUndefined();
    expect(parseHandle(handleOf(2, '1700000000000-3'))).toEqual({ priorityClass: 2, entryId: '1700000000000-3' });
  });

  it("carries a job's tensors as bytes in one binary field, base64 ones (a requeued dead letter) in the JSON", () => {
    const job = encodeJob([request('a', [1.5, -2]), request('b', [3])], 'g');
    const fields = entryFields('job-2', job, 5);
    expect(fields.map((field) => (typeof field === 'string' ? 'text' : field.byteLength))).toEqual([
      'text',
      'text',
      'text',
      'text',
      'text',
      12,
      'text',
      'text',
    ]);
    expect(String(fields[3])).not.toContain('base64');
    const entry = readEntry(asRead(fields))!;
    expect(entry.jobId).toBe('job-2');
    expect(decodeJob(entry.data).requests.map(({ request }) => Array.from(request.inputs[0]!.data as Float32Array))).toEqual([
      [1.5, -2],
      [3],
    ]);

    const letter = jobJson(job);
    const fromLetter = entryFields('job-3', letter, 5);
    expect(fromLetter).toHaveLength(6); // no binary field
    expect(decodeJob(readEntry(asRead(fromLetter))!.data)).toEqual(decodeJob(job));
  });

  it('refuses an entry whose binary field and JSON disagree (it is dead-lettered as unreadable)', () => {
    const fields = asRead(entryFields('job-4', encodeJob([request('a', [1, 2])], 'g'), 5));
    const short = fields.map((field, i) => (i === 5 ? field.subarray(0, 4) : field));
    const long = fields.map((field, i) => (i === 5 ? Buffer.concat([field, Buffer.from([0])]) : field));
    const missing = [...fields.slice(0, 4), ...fields.slice(6)];
    for (const broken of [short, long, missing]) expect(readEntry(broken)).toBeUndefined();
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
