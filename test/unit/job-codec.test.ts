import { describe, expect, it } from 'vitest';
import { ServingError } from '../../workers/protocol/errors.js';
import { encodeBytesElements } from '../../workers/protocol/tensor.js';
import { decodeFailure, encodeFailure, isRetryable } from '../../workers/queue/failure-policy.js';
import { decodeJob, decodeReply, encodeJob, encodeReply, jobJson, type ItemReply, type Reply } from '../../workers/queue/job-codec.js';
import type { Tensor } from '../../workers/protocol/tensor.js';

const timings = { queueMs: 1, computeMs: 2, batchSize: 3, batchRows: 4 };
/** An item of a reply answered with `outputs`. */
const answered = (item: number, outputs: Tensor[]): ItemReply => ({
  item,
  ok: true,
  result: { model: 'm', version: '1', outputs, timings },
});

describe('job codec', () => {
  it('round-trips a request with every kind of tensor through JSON', () => {
    const request = {
      requestId: 'r1',
      model: 'm',
      version: '2',
      outputs: ['y'],
      rows: 2,
      signature: 's',
      deadline: 123,
      priority: 4,
      inputs: [
        { name: 'f', datatype: 'FP32' as const, shape: [2, 2], data: new Float32Array([1.5, -2, 3, 4]) },
        { name: 'i', datatype: 'INT64' as const, shape: [2], data: new BigInt64Array([-5n, 9007199254740993n]) },
        {
          name: 'b',
          datatype: 'BYTES' as const,
          shape: [2],
          data: encodeBytesElements([new TextEncoder().encode('hé'), new Uint8Array(0)]),
        },
      ],
    };
    const second = { ...request, requestId: 'r2' };
    const job = encodeJob([request, second], 'gw');
    const expected = [
      { item: 0, request },
      { item: 1, request: second },
    ];
    // As JSON text holds it (BullMQ, dead letters), and as bytes (in memory, a streams entry).
    const { requests, replyTo } = decodeJob(JSON.parse(JSON.stringify(jobJson(job))));
    expect(replyTo).toBe('gw');
    expect(requests).toEqual(expected);
    expect(decodeJob(job).requests).toEqual(expected);
    // Decoded tensors own their memory: not views of the request's.
    expect(decodeJob(job).requests[0]!.request.inputs[0]!.data.buffer).not.toBe(request.inputs[0]!.data.buffer);
  });

  it('round-trips a reply: outputs of every width after odd-sized ones, a failed item, an empty output', () => {
    const reply: Reply = {
      jobId: 'j',
      items: [
        answered(0, [
          { name: 'u', datatype: 'UINT8', shape: [3], data: new Uint8Array([1, 2, 255]) },
          { name: 'h', datatype: 'FP16', shape: [1], data: new Uint16Array([0x3c00]) },
          { name: 'd', datatype: 'FP64', shape: [2], data: new Float64Array([Math.PI, -0]) },
          { name: 'i', datatype: 'INT64', shape: [1], data: new BigInt64Array([9007199254740993n]) },
          { name: 'b', datatype: 'BYTES', shape: [1], data: encodeBytesElements([new TextEncoder().encode('hé')]) },
          { name: 'e', datatype: 'FP32', shape: [0], data: new Float32Array(0) },
        ]),
        { item: 2, ok: false, code: 'shape_mismatch', message: 'no' },
        answered(1, [{ name: 'f', datatype: 'FP32', shape: [2], data: new Float32Array([1.5, -2]) }]),
      ],
    };
    const { json, bytes } = encodeReply(reply);
    // Nothing of the tensors in the JSON; their bytes (3 + 2 + 16 + 8 + 7 + 0 + 8) in the binary field.
    expect(json).not.toContain('base64');
    expect(bytes.byteLength).toBe(44);
    const decoded = decodeReply(json, bytes);
    expect(decoded).toEqual(reply);
    const outputs = decoded.items.flatMap((answer) => (answer.ok ? answer.result.outputs : []));
    // Each output owns its memory (aligned, transferable without touching another's).
    expect(new Set(outputs.map((tensor) => tensor.data.buffer)).size).toBe(outputs.length);
    for (const tensor of outputs) expect(tensor.data.byteOffset).toBe(0);
  });

  it('refuses a reply whose bytes and JSON disagree', () => {
    const { json, bytes } = encodeReply({
      jobId: 'j',
      items: [answered(0, [{ name: 'f', datatype: 'FP32', shape: [2], data: new Float32Array([1, 2]) }])],
    });
    expect(() => decodeReply(json, bytes.subarray(0, 4))).toThrow(/claims 8 bytes/);
    expect(() => decodeReply(json, Buffer.concat([bytes, Buffer.from([0])]))).toThrow(/1 bytes no output claims/);
    expect(() => decodeReply(json.replace('"bytes":8', '"bytes":6'), bytes.subarray(0, 6))).toThrow(/claims 6 bytes/);
    expect(() => decodeReply(json.replace('"bytes":8', '"bytes":-8'), bytes)).toThrow(/claims -8 bytes/);
    expect(() => decodeReply(json.replace('FP32', 'FP31'), bytes)).toThrow(/unknown datatype FP31/);
  });

  it('refuses a job of another format, and reads the previous one', () => {
    expect(() => decodeJob({ format: 1 } as never)).toThrow(/format 1/);
    expect(() => decodeJob({ format: 4 } as never)).toThrow(/format 4/);
    expect(decodeJob({ format: 2, replyTo: 'gw', requests: [] })).toEqual({ replyTo: 'gw', requests: [] });
  });

  it('answers a job of the previous format as its gateway reads it: JSON, tensors in base64, no binary field', () => {
    const output = { name: 'y', datatype: 'FP32' as const, shape: [2], data: new Float32Array([1.5, -2]) };
    const { json, bytes } = encodeReply({ jobId: 'j', format: 2, items: [answered(0, [output])] });
    expect(bytes).toBeUndefined();
    expect(JSON.parse(json)).toEqual({
      jobId: 'j',
      items: [
        {
          item: 0,
          ok: true,
          result: {
            model: 'm',
            version: '1',
            timings,
            outputs: [{ name: 'y', datatype: 'FP32', shape: [2], base64: Buffer.from(output.data.buffer).toString('base64') }],
          },
        },
      ],
    });
  });
});

describe('failure policy', () => {
  it.each([
    [new ServingError('inference_failed', 'x'), true],
    [new ServingError('model_not_ready', 'x'), true],
    [new ServingError('queue_full', 'x'), true],
    [new ServingError('request_timeout', 'x'), false],
    [new ServingError('shape_mismatch', 'x'), false],
    [new ServingError('datatype_mismatch', 'x'), false],
    [new Error('native crash'), true],
  ])('%s retryable: %s', (error, retryable) => {
    expect(isRetryable(error)).toBe(retryable);
  });

  it('carries the code through a failure message', () => {
    expect(decodeFailure(encodeFailure('queue_full', 'full: really'))).toEqual({ code: 'queue_full', message: 'full: really' });
    expect(decodeFailure('job stalled more than allowable limit')).toEqual({
      code: undefined,
      message: 'job stalled more than allowable limit',
    });
  });
});
