/**
 * Every error Switchyard answers with: a stable code, its HTTP status and what it means.
 * Codes are never renamed or reused; the table in docs/errors.md is checked against this one.
 */
export const ERROR_TABLE = {
  invalid_json: { status: 400, meaning: "The body (or the binary extension's JSON header) is not valid JSON." },
  empty_body: { status: 400, meaning: 'The request has no body.' },
  invalid_request: {
    status: 400,
    meaning: 'The body does not have the shape of an inference request (for example `inputs` is missing or not an array).',
  },
  invalid_binary_body: {
    status: 400,
    meaning:
      'The binary tensor extension is used wrongly: bad `Inference-Header-Content-Length`, or `binary_data_size` values that do not add up to the body.',
  },
  unknown_datatype: { status: 400, meaning: 'A tensor names a datatype the protocol does not have.' },
  datatype_mismatch: { status: 400, meaning: "A tensor's datatype differs from the model's, or a value does not fit the datatype." },
  shape_data_mismatch: { status: 400, meaning: "A tensor's data does not hold as many elements as its shape says." },
  shape_mismatch: { status: 400, meaning: "A tensor's shape does not match the model's input shape." },
  missing_input: { status: 400, meaning: 'An input the model needs is missing.' },
  unknown_input: { status: 400, meaning: 'An input the model does not have was sent, or sent twice.' },
  unknown_output: { status: 400, meaning: 'An output the model does not have was requested.' },
  batch_too_large: { status: 400, meaning: "The request's batch dimension is larger than the model's max_batch_size." },
  too_many_items: {
    status: 400,
    meaning: 'A task batch (`POST /v1/tasks/{pipeline}:batch`) holds more items than `TASK_BATCH_MAX_ITEMS`, or none.',
  },
  json_output_too_large: {
    status: 400,
    meaning:
      'An answer would hold more than 1,048,576 values or 16 MiB of tensor data as JSON (encoding more would stall the server): ask for binary outputs (`binary_data_output`, or `binary_data` on the output). KServe V1 answers are JSON only.',
  },
  invalid_parameter: { status: 400, meaning: 'A request parameter or header has a value of the wrong type or range.' },
  invalid_media: {
    status: 400,
    meaning:
      'An image or audio input is empty, truncated, corrupt, or of a format Switchyard does not read (images: PNG, JPEG, WebP; audio: WAV, 16-bit PCM or 32-bit float, mono or stereo).',
  },
  idempotency_key_invalid: { status: 400, meaning: 'The `Idempotency-Key` header is empty or longer than 255 characters.' },
  invalid_url: { status: 400, meaning: 'The URL has a malformed percent-encoded path.' },
  explain_unsupported: {
    status: 400,
    meaning:
      'An explain request asks for what its model or input cannot have: an input that is not an FP32 vector or image (variable-length, integer, text), a method or baseline that does not fit the input kind (occlusion or blur on a vector), or a PNG heatmap without an image input.',
  },
  explain_too_many_rows: {
    status: 400,
    meaning:
      "The explanation would run more perturbed rows than the model's `max_explain_rows` (default 10000): fewer samples, a larger patch size or fewer rows.",
  },
  malformed_request: { status: 400, meaning: 'The HTTP request itself could not be read (for example a bad `Content-Length`).' },
  unauthorized: { status: 401, meaning: 'No `Authorization: Bearer <key>` header, or the key is unknown.' },
  forbidden: { status: 403, meaning: 'The key may not call that model, route or endpoint (whether or not it exists).' },
  priority_not_allowed: {
    status: 403,
    meaning:
      "The request asked for a better (lower) `priority` than its tenant's `max_priority`, and the tenant has `priority_strict: true` (without it, the priority is clamped).",
  },
  foreign_origin: {
    status: 403,
    meaning:
      'With no tenants configured: the `Host` is not a loopback address of the listener, or a browser sent an `Origin` of another site.',
  },
  model_not_found: { status: 404, meaning: 'No model of that name is in the repository.' },
  version_not_found: { status: 404, meaning: 'The model has no such version, or the version policy does not serve it.' },
  route_not_found: { status: 404, meaning: 'No endpoint at that method and path.' },
  pipeline_not_found: { status: 404, meaning: 'No pipeline of that name is in the model repository.' },
  task_not_found: {
    status: 404,
    meaning: 'No task with that id (tasks are kept for `TASK_RETENTION_HOURS`), or it belongs to another tenant.',
  },
  dead_letter_not_found: { status: 404, meaning: 'No dead letter with that id (distributed mode).' },
  region_not_found: { status: 404, meaning: 'No shared-memory region of that name is registered: Switchyard registers none.' },
  review_not_found: { status: 404, meaning: "No review item with that id (items are kept for the policy's `reviews.retention_hours`)." },
  client_timeout: { status: 408, meaning: "The request (headers and body) was not received within the server's request timeout." },
  idempotency_in_progress: {
    status: 409,
    meaning: 'A request with the same `Idempotency-Key` is still running. Retry after `Retry-After`.',
  },
  task_finished: {
    status: 409,
    meaning:
      '`DELETE /v1/tasks/{id}` on a task that has already ended (succeeded, failed, cancelled) or whose result waits for review: there is nothing left to cancel.',
  },
  task_cancelled: {
    status: 409,
    meaning:
      'The task was cancelled (`DELETE /v1/tasks/{id}`, or its synchronous caller left) before it finished: the steps not started never ran, the model calls running were cancelled, and it was charged only for the calls that answered.',
  },
  review_conflict: {
    status: 409,
    meaning: 'The review item is claimed by another reviewer, already resolved, or (to resolve it) not claimed by this reviewer.',
  },
  expectation_failed: { status: 417, meaning: 'The `Expect` header asks for something other than `100-continue`.' },
  idempotency_key_reused: {
    status: 422,
    meaning: 'The `Idempotency-Key` was used before with a different request: body, version in the path or `X-Tier`.',
  },
  client_cancelled: {
    status: 499,
    meaning:
      'The caller closed the connection, cancelled the gRPC call or let its deadline pass before the answer; nothing more was started for it (recorded in the audit log and metrics, never sent).',
  },
  rate_limited: {
    status: 429,
    meaning:
      "The tenant's rate limit is used up for this window, or this address made too many failed authentications. Retry after `Retry-After`.",
  },
  concurrency_limited: {
    status: 429,
    meaning:
      'The tenant already has `max_concurrency` requests in flight (over every gateway). Retry after `Retry-After`, or when one of them is answered.',
  },
  budget_exceeded: { status: 429, meaning: "The tenant's budget for the period cannot cover this request's estimated cost." },
  image_too_large: {
    status: 413,
    meaning: 'An image has more pixels than `MAX_IMAGE_PIXELS` (decompression bombs are refused before decoding).',
  },
  audio_too_long: {
    status: 413,
    meaning: 'The audio of one request lasts longer than `MAX_AUDIO_SECONDS`, all its clips together (refused before decoding).',
  },
  body_too_large: {
    status: 413,
    meaning:
      'The body is larger than `MAX_BODY_BYTES`, or a gRPC message (a request, or an answer) is larger than `GRPC_MAX_MESSAGE_BYTES`.',
  },
  unsupported_media_type: {
    status: 415,
    meaning:
      'The Content-Type is not one Switchyard reads (JSON or none, `application/octet-stream`, an image, a WAV file, multipart; never `text/plain` or form-urlencoded), the Content-Encoding is not gzip or deflate, the model takes no image body (or was sent an image or WAV file as `application/octet-stream`, its binary extension), or the pipeline takes no single image or WAV as its whole body.',
  },
  url_too_long: { status: 414, meaning: 'A path segment (a model, version or id) is longer than 100 characters.' },
  headers_too_large: { status: 431, meaning: 'The request line and headers are larger than 16 KiB.' },
  model_not_ready: { status: 503, meaning: 'The model (or version) is loading, unloading, failed or unloaded. Retry after `Retry-After`.' },
  queue_full: { status: 503, meaning: "The model's queue holds `max_queue_size` requests already. Retry after `Retry-After`." },
  request_timeout: {
    status: 503,
    meaning: "The request was not served before its timeout (`timeout_ms` parameter or the model's default). Retry after `Retry-After`.",
  },
  no_tier_available: { status: 503, meaning: 'Every tier of the route has its circuit breaker open. Retry after `Retry-After`.' },
  tasks_busy: {
    status: 503,
    meaning:
      'This gateway already runs `TASK_BATCH_MAX_PENDING` batch items, and a refused batch is refused whole (no task of it is created). Retry after `Retry-After`.',
  },
  shutting_down: { status: 503, meaning: 'The server is draining before it exits.' },
  server_busy: {
    status: 503,
    meaning:
      'The gateway holds `BODY_MEMORY_BYTES` of request bodies already (all requests together, bodies over 64 KiB counted), so this body is not read further. Retry after `Retry-After`.',
  },
  not_supported: {
    status: 501,
    meaning:
      'Switchyard does not have that Triton feature: shared-memory regions, `config` or `files` overrides on model load, changes to trace settings.',
  },
  not_in_this_mode: {
    status: 501,
    meaning:
      'The endpoint exists in the other mode only (for example repository load/unload in distributed mode, where worker pools decide what they load).',
  },
  backend_unavailable: {
    status: 503,
    meaning:
      'Distributed mode: Redis cannot be reached, has stopped answering (a registry poll unanswered for 2 s), or refuses writes for now (a failover, no replica in reach of `min-replicas-to-write`, loading, a long script), so the request cannot be queued (or its limits, budget or idempotency key checked). Retry after `Retry-After`.',
  },
  request_lost: {
    status: 503,
    meaning:
      'Distributed mode: the request was queued, then Redis lost it (a failover promoted a replica the job had not reached) before it was answered. Nothing was answered for it; retry after `Retry-After`.',
  },
  model_load_failed: { status: 500, meaning: 'Loading or warming up the model failed; the reason is in the message and the log.' },
  inference_failed: { status: 500, meaning: 'The runtime failed while running a batch that passed validation.' },
  step_failed: { status: 500, meaning: 'A pipeline step failed for a reason other than its input; the message names the step.' },
  internal_error: { status: 500, meaning: 'A fault in Switchyard itself; the message is hidden and the log has the details.' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 1;

export class ServingError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'ServingError';
    this.code = code;
    this.status = ERROR_TABLE[code].status;
  }
}

export function isServingError(error: unknown): error is ServingError {
  return error instanceof ServingError;
}
