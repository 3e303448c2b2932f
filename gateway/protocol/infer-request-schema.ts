import { DATATYPES } from '../../workers/protocol/datatypes.js';
import { MAX_CLASSIFICATION } from './classification.js';

const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** A tensor's parameters: Triton's shared-memory ones are refused (501 not_supported), Switchyard registers none. */
const tensorParameters = (properties: Record<string, unknown>) => ({
  type: 'object',
  properties: { ...properties, shared_memory_region: { not: {}, description: 'Refused: shared memory is not supported.' } },
});

const INPUT = {
  type: 'object',
  required: ['name', 'datatype', 'shape'],
  properties: {
    name: { type: 'string', minLength: 1 },
    datatype: { enum: DATATYPES },
    shape: { type: 'array', items: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
    data: { type: 'array', description: 'Row-major values, flat or nested; as many as the shape holds.' },
    parameters: tensorParameters({
      binary_data_size: {
        type: 'integer',
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'Bytes of this tensor after the JSON header (binary extension).',
      },
    }),
  },
  // Data in JSON, or in the binary section: one of the two.
  oneOf: [
    { required: ['data'], properties: { parameters: { not: { required: ['binary_data_size'] } } } },
    { required: ['parameters'], properties: { parameters: { required: ['binary_data_size'] } }, not: { required: ['data'] } },
  ],
} as const;

const OUTPUT = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string' },
    parameters: tensorParameters({
      binary_data: { type: 'boolean' },
      classification: {
        type: 'integer',
        minimum: 0,
        maximum: MAX_CLASSIFICATION,
        description: 'Classification extension: the N highest classes per row, as BYTES "<value>:<index>[:<label>]".',
      },
    }),
  },
} as const;

/**
 * The OIP inference request (the JSON body, or the binary extension's JSON header), as
 * gateway/protocol/parse-infer-request.ts checks it by hand: described for the OpenAPI
 * document only, since ajv would walk every element of a large `data` array on the hot
 * path. test/unit/openapi-infer-body.test.ts holds the two in step. What JSON Schema cannot
 * say is left to the parser: element counts against the shape, values against the datatype,
 * the model's own inputs and outputs.
 */
export const INFER_REQUEST_SCHEMA = {
  type: 'object',
  required: ['inputs'],
  properties: {
    id: { type: 'string' },
    inputs: { type: 'array', minItems: 1, items: INPUT },
    outputs: { type: 'array', items: OUTPUT },
    parameters: {
      type: 'object',
      properties: {
        binary_data_output: {
          type: 'boolean',
          description: 'true: every output in the binary section unless an output says otherwise.',
        },
        timeout_ms: { type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_MS },
        timeout: {
          type: 'integer',
          minimum: 0,
          maximum: Number.MAX_SAFE_INTEGER,
          description: "Triton's, in microseconds; timeout_ms wins.",
        },
        priority: {
          type: 'integer',
          minimum: 0,
          description: "Lower first in the model's queue; above 2097152, the default (the tenant's), as Triton's past its lowest level.",
        },
        sequence_id: {
          enum: [0, ''],
          description:
            'No sequence batching here: only "no sequence" (0 or "") is accepted, as Triton answers a model without a sequence batcher.',
        },
        sequence_start: { const: false },
        sequence_end: { const: false },
      },
    },
  },
} as const;
