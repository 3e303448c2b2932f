import { describe, expect, it } from 'vitest';
import { decodeInferRequest } from '../../gateway/grpc/decode-infer-request.js';
import { refuseSequence } from '../../gateway/protocol/sequence-parameters.js';

const refusal = (parameters: Record<string, unknown>) => {
  try {
    refuseSequence(parameters);
    return 'ok';
  } catch (error) {
    return (error as { code: string; message: string }).code;
  }
};

describe('sequence batching parameters (Switchyard has no sequence batcher)', () => {
  it('refuses a request that names a sequence, as Triton does for a model without sequence batching', () => {
    for (const parameters of [
      { sequence_id: 5 },
      { sequence_id: 'abc' },
      { sequence_start: true },
      { sequence_id: 0, sequence_end: true },
    ]) {
      expect(refusal(parameters), JSON.stringify(parameters)).toBe('invalid_parameter');
    }
    expect(() => refuseSequence({ sequence_id: 5, sequence_start: true })).toThrow(
      /must not specify a non-zero or non-empty correlation ID/,
    );
  });

  it('takes no sequence: an id of 0 or "", false flags, or none', () => {
    for (const parameters of [{}, { sequence_id: 0 }, { sequence_id: '' }, { sequence_id: 0, sequence_start: false, sequence_end: false }])
      expect(refusal(parameters), JSON.stringify(parameters)).toBe('ok');
  });

  it('checks their types as it does priority and timeout', () => {
    expect(() => refuseSequence({ sequence_id: -1 })).toThrow('parameter sequence_id must be a non-negative integer or a string');
    expect(() => refuseSequence({ sequence_id: 1.5 })).toThrow('parameter sequence_id must be a non-negative integer or a string');
    expect(() => refuseSequence({ sequence_id: { a: 1 } })).toThrow('parameter sequence_id must be a non-negative integer or a string');
    expect(() => refuseSequence({ sequence_start: 'yes' })).toThrow('parameter sequence_start must be true or false');
    expect(() => refuseSequence({ sequence_end: 1 })).toThrow('parameter sequence_end must be true or false');
  });

  it('reads them from a gRPC request as tritonclient sends them', () => {
    const request = (parameters: object) => ({
      model_name: 'm',
      inputs: [{ name: 'x', datatype: 'FP32', shape: ['1'], contents: { fp32_contents: [1] } }],
      parameters,
    });
    const id = { sequence_id: { parameter_choice: 'int64_param', int64_param: '7' } };
    const start = { sequence_start: { parameter_choice: 'bool_param', bool_param: true } };
    expect(() => decodeInferRequest(request({ ...id, ...start }), () => Buffer.alloc(0))).toThrow(/no sequence batching/);
    const none = {
      sequence_id: { parameter_choice: 'string_param', string_param: '' },
      sequence_end: { parameter_choice: 'bool_param', bool_param: false },
    };
    expect(decodeInferRequest(request(none), () => Buffer.alloc(0)).parsed.inputs).toHaveLength(1);
  });
});
