import { describe, expect, it } from 'vitest';
import { parseInferRequest } from '../../gateway/protocol/parse-infer-request.js';
import type { ServingError } from '../../workers/protocol/errors.js';

const input = (parameters?: Record<string, unknown>) => ({
  name: 'x',
  datatype: 'FP32',
  shape: [1, 2],
  data: [1, 2],
  ...(parameters ? { parameters } : {}),
});
const parse = (body: unknown) => parseInferRequest(Buffer.from(JSON.stringify(body)), Buffer.alloc(0));
const codeOf = (body: unknown): string | undefined => {
  try {
    parse(body);
    return undefined;
  } catch (error) {
    return (error as ServingError).code;
  }
};

/** Parameters tritonclient sends that Switchyard reads its own way. */
describe('Triton request parameters', () => {
  it('timeout is in microseconds (rounded up to whole milliseconds), 0 or past the timer range for none; timeout_ms wins', () => {
    expect(parse({ inputs: [input()], parameters: { timeout: 1500 } }).timeoutMs).toBe(2);
    expect(parse({ inputs: [input()], parameters: { timeout: 60_000_000 } }).timeoutMs).toBe(60_000);
    expect(parse({ inputs: [input()], parameters: { timeout: 0 } }).timeoutMs).toBeUndefined();
    expect(parse({ inputs: [input()], parameters: { timeout: 2 ** 53 - 1 } }).timeoutMs).toBeUndefined();
    // Not a whole number of microseconds any uint64 holds.
    expect(codeOf({ inputs: [input()], parameters: { timeout: 1e300 } })).toBe('invalid_parameter');
    expect(parse({ inputs: [input()], parameters: { timeout: 9_000_000, timeout_ms: 5 } }).timeoutMs).toBe(5);
    expect(codeOf({ inputs: [input()], parameters: { timeout: -1 } })).toBe('invalid_parameter');
    expect(codeOf({ inputs: [input()], parameters: { timeout: '10' } })).toBe('invalid_parameter');
  });

  it('shared-memory tensors are refused with not_supported, inputs and outputs alike', () => {
    expect(codeOf({ inputs: [input({ shared_memory_region: 'r0', shared_memory_byte_size: 8 })] })).toBe('not_supported');
    const output = { name: 'y', parameters: { shared_memory_region: 'r1', shared_memory_byte_size: 8 } };
    expect(codeOf({ inputs: [input()], outputs: [output] })).toBe('not_supported');
    expect(codeOf({ inputs: [input({ binary_data: false })] })).toBeUndefined();
  });
});
