import { describe, expect, it } from 'vitest';
import { ServingError } from '../../workers/protocol/errors.js';
import { encodeBytesElements } from '../../workers/protocol/tensor.js';
import { decodeFailure, encodeFailure, isRetryable } from '../../workers/queue/failure-policy.js';
import { decodeJob, decodeResult, encodeJob, encodeResult } from '../../workers/queue/job-codec.js';

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
    const { requests, replyTo } = decodeJob(JSON.parse(JSON.stringify(encodeJob([request, second], 'gw'))));
    expect(replyTo).toBe('gw');
    expect(requests).toEqual([
      { item: 0, request },
      { item: 1, request: second },
    ]);
  });

  it('round-trips a result', () => {
    const result = {
      model: 'm',
      version: '1',
      outputs: [{ name: 'y', datatype: 'FP16' as const, shape: [1], data: new Uint16Array([0x3c00]) }],
      timings: { queueMs: 1, computeMs: 2, batchSize: 3, batchRows: 4 },
    };
    expect(decodeResult(JSON.parse(JSON.stringify(encodeResult(result))))).toEqual(result);
  });

  it('refuses a job of another format', () => {
    expect(() => decodeJob({ format: 1 } as never)).toThrow(/format 1/);
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
