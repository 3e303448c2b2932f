import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { INFER_REQUEST_SCHEMA } from '../../gateway/protocol/infer-request-schema.js';
import { parseInferRequest } from '../../gateway/protocol/parse-infer-request.js';

/**
 * The OIP body is checked by hand (gateway/protocol/parse-infer-request.ts) and described for
 * the OpenAPI document by INFER_REQUEST_SCHEMA: both must accept and refuse the same bodies,
 * as far as JSON Schema can say (element counts and values against the datatype it cannot).
 */
const validate = new Ajv2020({ strict: false }).compile(INFER_REQUEST_SCHEMA);

const input = (fields: Record<string, unknown> = {}) => ({ name: 'x', datatype: 'FP32', shape: [1, 2], data: [0.5, 1.5], ...fields });
const binaryInput = (size: number, fields: Record<string, unknown> = {}) => ({
  name: 'x',
  datatype: 'FP32',
  shape: [1, size / 4],
  parameters: { binary_data_size: size },
  ...fields,
});

/** A body, and the bytes after its JSON (binary extension). */
const accepted: [string, unknown, number?][] = [
  ['one JSON input', { inputs: [input()] }],
  ['nested data', { inputs: [input({ data: [[0.5, 1.5]] })] }],
  [
    'an id, outputs and parameters',
    {
      id: 'r1',
      inputs: [input()],
      outputs: [{ name: 'y', parameters: { binary_data: true } }],
      parameters: { timeout_ms: 500, priority: 3, binary_data_output: true },
    },
  ],
  ["Triton's timeout in microseconds", { inputs: [input()], parameters: { timeout: 0 } }],
  ['binary extension', { inputs: [binaryInput(8)] }, 8],
  ['a BYTES input', { inputs: [{ name: 's', datatype: 'BYTES', shape: [1], data: ['hello'] }] }],
  ['unknown request parameters', { inputs: [input()], parameters: { my_flag: 4 } }],
  ['sequence parameters that name no sequence', { inputs: [input()], parameters: { sequence_id: 0, sequence_start: false } }],
  ['a zero dimension', { inputs: [input({ shape: [0, 2], data: [] })] }],
];

const refused: [string, unknown, number?][] = [
  ['an array', [1, 2]],
  ['binary_data_output that is not a boolean', { inputs: [input()], parameters: { binary_data_output: 'yes' } }],
  ['no inputs', {}],
  ['empty inputs', { inputs: [] }],
  ['inputs not an array', { inputs: { x: 1 } }],
  ['an input that is not an object', { inputs: [3] }],
  ['an empty name', { inputs: [input({ name: '' })] }],
  ['a name that is not a string', { inputs: [input({ name: 7 })] }],
  ['no datatype', { inputs: [input({ datatype: undefined })] }],
  ['an unknown datatype', { inputs: [input({ datatype: 'FP128' })] }],
  ['a negative dimension', { inputs: [input({ shape: [-1, 2] })] }],
  ['a fractional dimension', { inputs: [input({ shape: [1.5, 2] })] }],
  ['shape not an array', { inputs: [input({ shape: 2 })] }],
  ['no data and no binary_data_size', { inputs: [input({ data: undefined })] }],
  ['data not an array', { inputs: [input({ data: 'abc' })] }],
  ['both data and binary_data_size', { inputs: [binaryInput(8, { data: [1, 2] })] }, 8],
  ['a negative binary_data_size', { inputs: [binaryInput(8, { parameters: { binary_data_size: -8 } })] }],
  ['input parameters not an object', { inputs: [input({ parameters: [1] })] }],
  ['shared memory on an input', { inputs: [input({ parameters: { shared_memory_region: 'r' } })] }],
  ['an id that is not a string', { id: 5, inputs: [input()] }],
  ['outputs not an array', { inputs: [input()], outputs: {} }],
  ['an output without a name', { inputs: [input()], outputs: [{}] }],
  ['binary_data not a boolean', { inputs: [input()], outputs: [{ name: 'y', parameters: { binary_data: 'yes' } }] }],
  ['shared memory on an output', { inputs: [input()], outputs: [{ name: 'y', parameters: { shared_memory_region: 'r' } }] }],
  ['request parameters not an object', { inputs: [input()], parameters: 'fast' }],
  ['timeout_ms 0', { inputs: [input()], parameters: { timeout_ms: 0 } }],
  ["timeout_ms past a timer's range", { inputs: [input()], parameters: { timeout_ms: 2 ** 31 } }],
  ['a fractional priority', { inputs: [input()], parameters: { priority: 1.5 } }],
  ['a negative priority', { inputs: [input()], parameters: { priority: -1 } }],
  ['a negative Triton timeout', { inputs: [input()], parameters: { timeout: -1 } }],
  ['a sequence id (no sequence batching)', { inputs: [input()], parameters: { sequence_id: 4 } }],
  ['a sequence start', { inputs: [input()], parameters: { sequence_start: true } }],
];

function handParser(body: unknown, binaryBytes = 0): 'accepts' | 'refuses' {
  try {
    parseInferRequest(Buffer.from(JSON.stringify(body)), Buffer.alloc(binaryBytes));
    return 'accepts';
  } catch {
    return 'refuses';
  }
}

describe('the documented infer body agrees with the hand parser', () => {
  it.each(accepted)('both accept %s', (_name, body, binary) => {
    expect(handParser(body, binary)).toBe('accepts');
    expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each(refused)('both refuse %s', (_name, body, binary) => {
    expect(handParser(body, binary)).toBe('refuses');
    expect(validate(body)).toBe(false);
  });
});
