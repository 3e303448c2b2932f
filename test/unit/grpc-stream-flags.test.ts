import { describe, expect, it } from 'vitest';
import { decodeInferRequest, type GrpcInferRequest } from '../../gateway/grpc/decode-infer-request.js';

const request = (flag?: Record<string, unknown>): GrpcInferRequest =>
  ({
    model_name: 'm',
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '2'], contents: { fp32_contents: [1, 2] } }],
    ...(flag ? { parameters: { triton_enable_empty_final_response: flag } } : {}),
  }) as unknown as GrpcInferRequest;
const fingerprint = () => Buffer.alloc(0);

describe("Triton's stream flag triton_enable_empty_final_response", () => {
  it('is taken as a bool (tritonclient sends it so) and refused as anything else, as Triton refuses it', () => {
    expect(decodeInferRequest(request({ parameter_choice: 'bool_param', bool_param: true }), fingerprint).parsed.inputs).toHaveLength(1);
    expect(decodeInferRequest(request(), fingerprint).parsed.inputs).toHaveLength(1);
    for (const wrong of [
      { parameter_choice: 'string_param', string_param: 'true' },
      { parameter_choice: 'int64_param', int64_param: '1' },
    ]) {
      expect(() => decodeInferRequest(request(wrong), fingerprint), wrong.parameter_choice).toThrow(
        expect.objectContaining({ code: 'invalid_parameter', message: expect.stringMatching(/expected bool_param/) }),
      );
    }
  });
});
