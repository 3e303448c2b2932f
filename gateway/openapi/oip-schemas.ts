import { DATATYPES } from '../../workers/protocol/datatypes.js';
import { ModelState } from '../../workers/pool/model-state.js';

/** Response bodies shared by several routes (OIP's shapes, with Switchyard's additions). */
const strings = { type: 'array', items: { type: 'string' } } as const;

export const TENSOR_METADATA = {
  type: 'object',
  required: ['name', 'datatype', 'shape'],
  properties: {
    name: { type: 'string' },
    datatype: { enum: DATATYPES },
    shape: { type: 'array', items: { type: 'integer' }, description: '-1 for a variable dimension (the batch).' },
  },
} as const;

export const MODEL_METADATA = {
  type: 'object',
  required: ['name', 'versions', 'platform', 'inputs', 'outputs'],
  properties: {
    name: { type: 'string' },
    versions: strings,
    platform: { type: 'string' },
    inputs: { type: 'array', items: TENSOR_METADATA },
    outputs: { type: 'array', items: TENSOR_METADATA },
    providers: { ...strings, description: 'What the version runs on (cuda, cpu, tfjs-node-gpu, wasm...), once loaded.' },
  },
} as const;

export const MODEL_READINESS = {
  type: 'object',
  required: ['name', 'version', 'ready'],
  properties: { name: { type: 'string' }, version: { type: 'string' }, ready: { type: 'boolean' } },
} as const;

export const REPOSITORY_INDEX = {
  type: 'array',
  items: {
    type: 'object',
    required: ['name', 'state', 'reason'],
    properties: {
      name: { type: 'string' },
      version: { type: 'string' },
      state: { enum: Object.values(ModelState) },
      reason: { type: 'string' },
      providers: strings,
    },
  },
} as const;

export const MODEL_STATS = {
  type: 'object',
  required: ['model_stats'],
  properties: { model_stats: { type: 'array', items: { type: 'object' } } },
} as const;

/** An output tensor: JSON `data`, or `parameters.binary_data_size` bytes after the JSON header. */
const OUTPUT_TENSOR = {
  type: 'object',
  required: ['name', 'datatype', 'shape'],
  properties: {
    name: { type: 'string' },
    datatype: { enum: DATATYPES },
    shape: { type: 'array', items: { type: 'integer', minimum: 0 } },
    data: { type: 'array' },
    parameters: { type: 'object', properties: { binary_data_size: { type: 'integer', minimum: 0 } } },
  },
} as const;

export const INFER_RESPONSE = {
  type: 'object',
  required: ['model_name', 'outputs'],
  properties: {
    model_name: { type: 'string' },
    model_version: { type: 'string' },
    id: { type: 'string' },
    parameters: {
      type: 'object',
      description:
        'The response metadata (route, tier, cost, queue and compute time...), as in the x-* headers; and the review mark when held for review.',
    },
    outputs: { type: 'array', items: OUTPUT_TENSOR },
  },
} as const;
