import { docs, json, ANY_OBJECT, type JsonSchema, type RouteDocs } from './route-docs.js';

const TASK = {
  type: 'object',
  required: ['id', 'pipeline', 'status', 'created_at'],
  properties: {
    id: { type: 'string' },
    pipeline: { type: 'string' },
    tenant: { type: 'string' },
    status: { enum: ['queued', 'running', 'needs_review', 'succeeded', 'failed'] },
    created_at: { type: 'string' },
    result: { type: 'object', properties: { outputs: ANY_OBJECT, steps: { type: 'array' }, cost_usd: { type: 'number' } } },
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, step: { type: 'string' } } },
  },
} as const;

const OPTIONS = {
  callback_url: {
    type: 'string',
    maxLength: 2048,
    description: 'http(s) URL told of the result (signed when the tenant has a callback secret).',
  },
  timeout_ms: { type: 'integer', minimum: 1, maximum: 600_000 },
  priority: { type: 'integer', minimum: 0 },
  review: { type: 'boolean', description: 'Hold the result for human review before the task succeeds.' },
} as const;
const MEDIA = { type: 'string', contentMediaType: 'application/octet-stream' } as const;
const TASK_BODY = {
  type: 'object',
  required: ['inputs'],
  properties: {
    inputs: { type: 'object', description: 'One entry per pipeline input; media (image, audio) as base64 strings.' },
    ...OPTIONS,
  },
} as const;
const BATCH_BODY = {
  type: 'object',
  required: ['items'],
  properties: {
    items: {
      type: 'array',
      minItems: 1,
      items: TASK_BODY,
      description: "At most TASK_BATCH_MAX_ITEMS; an item's options override the batch's.",
    },
    ...OPTIONS,
  },
} as const;
const PREFER = { type: 'string', description: '`respond-async`: answer 202 with the task at once instead of waiting (RFC 7240).' } as const;
const BODY_ERRORS = [
  'empty_body',
  'invalid_json',
  'invalid_request',
  'invalid_parameter',
  'unknown_input',
  'missing_input',
  'invalid_media',
  'image_too_large',
  'audio_too_long',
] as const;

/**
 * `POST /v1/tasks/{pipeline}` and its `:batch` form share one fastify route (the router cannot
 * tell them apart), so one operation describes both bodies. Checked by hand (gateway/tasks/):
 * JSON, multipart, or a raw image or WAV body with options in the query string.
 */
export const CREATE_TASK_DOCS = docs({
  tag: 'tasks',
  summary: 'Run a pipeline as a task; `{pipeline}:batch` runs a batch of them',
  description:
    'Waits for the task (200) unless `Prefer: respond-async` (202 and the task at once). The batch form answers `{"items": [...]}`, a task or an error per item.',
  errors: [
    ...BODY_ERRORS,
    'forbidden',
    'pipeline_not_found',
    'too_many_items',
    'idempotency_key_invalid',
    'idempotency_in_progress',
    'idempotency_key_reused',
    'budget_exceeded',
    'tasks_busy',
    'shutting_down',
    'request_timeout',
    'step_failed',
    'queue_full',
    'model_not_ready',
    'no_tier_available',
    'inference_failed',
  ],
  responses: {
    200: {
      description: 'The finished task (or, for a batch, every item).',
      content: json({ oneOf: [TASK, { type: 'object', required: ['items'], properties: { items: { type: 'array' } } }] }),
      headers: { location: { type: 'string' }, 'x-task-id': { type: 'string' } },
    },
    202: {
      description: 'Accepted (Prefer: respond-async): the task, queued.',
      content: json(TASK),
      headers: { location: { type: 'string' }, 'x-task-id': { type: 'string' } },
    },
  },
  handChecked: {
    params: {
      type: 'object',
      required: ['pipeline'],
      properties: { pipeline: { type: 'string', description: 'A pipeline, or `<pipeline>:batch`.' } },
    },
    headers: { type: 'object', properties: { prefer: PREFER, 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } } },
    querystring: {
      type: 'object',
      properties: { ...OPTIONS, review: { enum: ['true', 'false'] } },
      description: 'Options, for a raw image or WAV body only.',
    },
    body: {
      'application/json': { oneOf: [TASK_BODY, BATCH_BODY] },
      'multipart/form-data': {
        type: 'object',
        properties: { options: { type: 'string', contentMediaType: 'application/json' } },
        additionalProperties: MEDIA,
      },
      'image/png': MEDIA,
      'image/jpeg': MEDIA,
      'image/webp': MEDIA,
      'audio/wav': MEDIA,
      'application/octet-stream': MEDIA,
    },
  },
});

// An id is looked up by hand (task_not_found): described, not validated by ajv.
const ID = { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } as const;
const taskDocs = (summary: string, content: Record<string, JsonSchema>, extra: Partial<RouteDocs> = {}) =>
  docs({
    tag: 'tasks',
    summary,
    errors: ['task_not_found'],
    responses: { 200: { description: 'OK.', content } },
    ...extra,
    handChecked: { params: ID, ...extra.handChecked },
  });

export const TASK_ROUTES = {
  get: { config: taskDocs("A task (its own tenant's only)", json(TASK)) },
  cancel: {
    config: taskDocs('Cancel a task: steps not started never run, running model calls are cancelled', json(TASK), {
      errors: ['task_not_found', 'task_finished'],
      responses: {
        200: { description: 'The task, cancelled.', content: json(TASK) },
        202: { description: 'Cancelling: running steps still winding down.', content: json(TASK) },
      },
    }),
  },
  events: {
    config: taskDocs(
      "A task's progress as server-sent events, to its end",
      { 'text/event-stream': { type: 'string' } },
      {
        handChecked: {
          headers: { type: 'object', properties: { 'last-event-id': { type: 'string', description: 'Resume after this event.' } } },
        },
      },
    ),
  },
  pipelines: {
    config: docs({
      tag: 'tasks',
      summary: 'The pipelines this key may run, with their inputs, outputs and steps',
      responses: {
        200: {
          description: 'OK.',
          content: json({ type: 'object', required: ['pipelines'], properties: { pipelines: { type: 'array', items: ANY_OBJECT } } }),
        },
      },
    }),
  },
} as const;
