import { HEADER_LENGTH_HEADER } from '../protocol/binary-body.js';
import { INFER_REQUEST_SCHEMA } from '../protocol/infer-request-schema.js';
import { INFER_RESPONSE } from './oip-schemas.js';
import { docs, MODEL_PARAM, VERSION_PARAM, type RouteDocs } from './route-docs.js';

const BINARY = { type: 'string', contentMediaType: 'application/octet-stream' } as const;
const IMAGE = { type: 'string', contentMediaType: 'image/*', description: "The whole body is the model's one image input." } as const;
const text = (description: string) => ({ type: 'string', description });
const number = (description: string) => ({ type: 'string', pattern: '^[0-9.]+$', description });

/** The answer's metadata, as headers (and in the body's `parameters`). */
const METADATA_HEADERS = {
  'x-request-id': text("The gateway's id for this request (logs, audit, reviews)."),
  'x-client-request-id': text("The caller's own X-Request-Id, when usable."),
  'x-route': text('The route (or model) that served it.'),
  'x-tier': text('The tier that answered.'),
  'x-escalated': text('"true" when a cascade escalated past its first tier.'),
  'x-model-version': text('The model version that answered.'),
  'x-queue-ms': number("Time in the model's queue."),
  'x-compute-ms': number('Time in the runtime.'),
  'x-server-ms': number('From arrival to the answer being ready.'),
  'x-batch-size': number('Rows in the batch this request ran in.'),
  'x-cost-usd': number('What this request cost.'),
  [HEADER_LENGTH_HEADER]: number("Binary extension: the JSON header's length; the output tensors' bytes follow it."),
  'x-review-id': text('Held for human review: the review item.'),
  'x-review-status': text('Held for human review: its state.'),
  'idempotent-replayed': text('"true" when answered from a stored response (same Idempotency-Key).'),
};

/**
 * `POST /v2/models/{model}[/versions/{version}]/infer`. Everything here is checked by hand
 * on the hot path (gateway/protocol/, gateway/request/), so it is described, not validated by ajv.
 */
export const inferDocs = (versioned: boolean): { docs: RouteDocs } =>
  docs({
    tag: 'inference',
    summary: versioned ? 'Infer with one version of a model' : 'Infer with a model or a route',
    description:
      "OIP JSON, the binary tensor extension (JSON header, then the tensors' bytes), a raw image body for a model whose one input is an image, " +
      'or multipart/form-data (a file field per input, several files in a field are a batch; an optional `request` field of OIP JSON for outputs and parameters).',
    errors: [
      'invalid_json',
      'empty_body',
      'invalid_request',
      'invalid_binary_body',
      'unknown_datatype',
      'datatype_mismatch',
      'shape_data_mismatch',
      'shape_mismatch',
      'missing_input',
      'unknown_input',
      'unknown_output',
      'batch_too_large',
      'invalid_parameter',
      'json_output_too_large',
      'invalid_media',
      'idempotency_key_invalid',
      'image_too_large',
      'forbidden',
      'model_not_found',
      'version_not_found',
      'idempotency_in_progress',
      'idempotency_key_reused',
      'budget_exceeded',
      'model_not_ready',
      'queue_full',
      'request_timeout',
      'request_lost',
      'no_tier_available',
      'shutting_down',
      'not_supported',
      'inference_failed',
      'model_load_failed',
    ],
    responses: {
      200: {
        description: "The outputs, as JSON or (binary extension) a JSON header followed by the tensors' bytes.",
        content: { 'application/json': INFER_RESPONSE, 'application/octet-stream': BINARY },
        headers: METADATA_HEADERS,
      },
    },
    handChecked: {
      params: {
        type: 'object',
        required: ['model', ...(versioned ? ['version'] : [])],
        properties: { model: MODEL_PARAM, ...(versioned ? { version: VERSION_PARAM } : {}) },
      },
      headers: {
        type: 'object',
        properties: {
          [HEADER_LENGTH_HEADER]: {
            type: 'string',
            pattern: '^[0-9]+$',
            description: 'Binary extension: the length of the JSON header at the start of the body.',
          },
          'idempotency-key': {
            type: 'string',
            minLength: 1,
            maxLength: 255,
            description: 'The same key and body within the retention answer with the stored response, never run twice.',
          },
          'x-tier': { type: 'string', description: "A route's tier to use instead of its policy's choice." },
          'x-review': { enum: ['true', 'false'], description: 'true: hold the answer for human review (routes that declare review).' },
          'x-request-id': {
            type: 'string',
            pattern: '^[\\w.:@/+=-]{1,128}$',
            description: "The caller's id, kept beside the gateway's (others are ignored).",
          },
          traceparent: { type: 'string', description: 'W3C Trace Context: continued into the queue and workers.' },
        },
      },
      body: {
        'application/json': INFER_REQUEST_SCHEMA,
        'application/octet-stream': {
          ...BINARY,
          description: `The binary extension: ${HEADER_LENGTH_HEADER} bytes of JSON (the request, each input with parameters.binary_data_size), then the bytes.`,
        },
        'image/png': IMAGE,
        'image/jpeg': IMAGE,
        'image/webp': IMAGE,
        'multipart/form-data': {
          type: 'object',
          properties: { request: { type: 'string', contentMediaType: 'application/json' } },
          additionalProperties: { type: 'string', contentMediaType: 'application/octet-stream' },
        },
      },
    },
  });
