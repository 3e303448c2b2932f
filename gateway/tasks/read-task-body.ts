import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import { bodyMediaType, isAudioType, isImageType } from '../http/media-types.js';
import { MultipartBody } from '../http/multipart-body.js';
import type { PipelineConfig } from '../pipelines/pipeline-config.js';
import { MAX_PRIORITY } from '../policy/policy-config.js';
import { isObject, parseJsonObject } from './task-json.js';
import { parseTaskJsonOffThread } from './task-json-off-thread.js';

export interface TaskOptions {
  readonly callbackUrl?: string;
  readonly timeoutMs?: number;
  /** Absent when the caller named none: the tenant's default applies. */
  readonly priority?: number;
  /** `"review": true`: the result waits for a human (status needs_review) before the task succeeds. */
  readonly review?: true;
  /** `"explain": true`: the steps that classify images attach explanations (gateway/explain/). */
  readonly explain?: true;
}

export interface TaskBody {
  /** Pipeline input name -> bytes (image, audio) or JSON. */
  readonly inputs: Record<string, unknown>;
  readonly options: TaskOptions;
  /** Identifies the request for Idempotency-Key reuse checks. */
  readonly fingerprint: string;
}

/**
 * A task request in one of three forms: JSON (`inputs` with media as base64), multipart
 * (a file field per media input, options in an `options` JSON field), or a raw image or
 * WAV body (or application/octet-stream) for a pipeline with one media input (options in
 * the query string). A large JSON
 * body is read on a thread.
 */
export async function readTaskBody(request: FastifyRequest, pipeline: PipelineConfig): Promise<TaskBody> {
  const body = request.body;
  const hash = createHash('sha256').update(pipeline.name);
  if (body instanceof MultipartBody) {
    const inputs: Record<string, unknown> = {};
    for (const file of body.files) {
      if (!inputSpec(pipeline, file.field)) throw unknownInput(pipeline, file.field);
      if (Object.hasOwn(inputs, file.field))
        throw new ServingError('invalid_request', `multipart field "${file.field}" is given more than once`);
      inputs[file.field] = file.data;
      hash.update(file.field).update(file.data);
    }
    const optionsText = body.fields.options;
    if (optionsText !== undefined) hash.update(optionsText);
    const options = optionsText === undefined ? {} : parseJsonObject(optionsText, 'the "options" field');
    for (const [name, value] of Object.entries(options.inputs ?? {})) {
      if (!inputSpec(pipeline, name)) throw unknownInput(pipeline, name);
      inputs[name] = value;
    }
    return { inputs: checkInputs(pipeline, inputs), options: readOptions(options), fingerprint: hash.digest('hex') };
  }
  if (!Buffer.isBuffer(body) || body.length === 0)
    throw new ServingError(
      'empty_body',
      'the request has no body: send the pipeline inputs as JSON, multipart, or a raw image or WAV body',
    );
  const type = bodyMediaType(request.headers['content-type']);
  const raw = isImageType(type) || isAudioType(type) || type === OCTET_STREAM;
  if (raw) {
    hash.update(type).update(body);
    const kind = isImageType(type) ? 'image' : isAudioType(type) ? 'audio' : undefined;
    const media = Object.entries(pipeline.inputs).filter(([, input]) => (kind ? input.kind === kind : input.kind !== 'json'));
    if (media.length !== 1 || Object.keys(pipeline.inputs).length !== 1) {
      const what = kind === 'audio' ? 'WAV file' : kind === 'image' ? 'image' : 'image or WAV file';
      throw new ServingError(
        'unsupported_media_type',
        `pipeline "${pipeline.name}" does not take a single ${what} as its whole body: send its inputs as JSON or multipart/form-data`,
      );
    }
    const query = request.query as Record<string, string | undefined>;
    hash.update(JSON.stringify(query));
    const options: Record<string, unknown> = { ...query };
    if (query.timeout_ms !== undefined) options.timeout_ms = Number(query.timeout_ms);
    if (query.priority !== undefined) options.priority = Number(query.priority);
    if (query.review === 'true' || query.review === 'false') options.review = query.review === 'true';
    if (query.explain === 'true' || query.explain === 'false') options.explain = query.explain === 'true';
    return { inputs: { [media[0]![0]]: body }, options: readOptions(options), fingerprint: hash.digest('hex') };
  }
  const media = Object.entries(pipeline.inputs)
    .filter(([, spec]) => spec.kind !== 'json')
    .map(([name]) => name);
  const { parsed, fingerprint } = await parseTaskJsonOffThread({ pipeline: pipeline.name, type, body, media });
  if (!isObject(parsed.inputs))
    throw new ServingError('invalid_request', 'the body needs "inputs": an object with one entry per pipeline input');
  const inputs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parsed.inputs)) {
    const spec = inputSpec(pipeline, name);
    if (!spec) throw unknownInput(pipeline, name);
    // Media inputs arrive decoded from their base64 strings.
    if (spec.kind !== 'json' && !Buffer.isBuffer(value)) {
      throw new ServingError('invalid_request', `input "${name}" (${spec.kind}) goes as a base64 string`);
    }
    inputs[name] = value;
  }
  return { inputs: checkInputs(pipeline, inputs), options: readOptions(parsed), fingerprint };
}

/**
 * To a task, an octet-stream body is the file itself (what `curl --data-binary` with a generic
 * type sends): the pipeline's one image or audio input, checked by its bytes when decoded.
 */
const OCTET_STREAM = 'application/octet-stream';

/** The pipeline's own input of that name: not one of Object.prototype's (`__proto__`, `toString`). */
export function inputSpec(pipeline: PipelineConfig, name: string): PipelineConfig['inputs'][string] | undefined {
  return Object.hasOwn(pipeline.inputs, name) ? pipeline.inputs[name] : undefined;
}

/** Refused before the value is stored: assigning `__proto__` would set the object's prototype instead. */
export function unknownInput(pipeline: PipelineConfig, name: string): ServingError {
  return new ServingError(
    'unknown_input',
    `pipeline "${pipeline.name}" has no input "${name.slice(0, 100)}" (inputs: ${Object.keys(pipeline.inputs).join(', ')})`,
  );
}

export function checkInputs(pipeline: PipelineConfig, inputs: Record<string, unknown>): Record<string, unknown> {
  for (const name of Object.keys(inputs)) if (!inputSpec(pipeline, name)) throw unknownInput(pipeline, name);
  for (const [name, spec] of Object.entries(pipeline.inputs)) {
    const value = Object.hasOwn(inputs, name) ? inputs[name] : undefined;
    if (value === undefined) throw new ServingError('missing_input', `pipeline "${pipeline.name}" needs input "${name}" (${spec.kind})`);
    if (spec.kind !== 'json' && (value as Buffer).length === 0) throw new ServingError('invalid_media', `input "${name}" is empty`);
  }
  return inputs;
}

export function readOptions(body: Record<string, unknown>): TaskOptions {
  const { callback_url: callbackUrl, timeout_ms: timeoutMs, priority, review, explain } = body;
  if (review !== undefined && typeof review !== 'boolean') throw new ServingError('invalid_parameter', 'review must be true or false');
  if (explain !== undefined && typeof explain !== 'boolean') throw new ServingError('invalid_parameter', 'explain must be true or false');
  if (callbackUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = typeof callbackUrl === 'string' && callbackUrl.length <= 2048 ? new URL(callbackUrl) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new ServingError('invalid_parameter', 'callback_url must be an http or https URL of at most 2048 characters');
    }
  }
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000)) {
    throw new ServingError('invalid_parameter', 'timeout_ms must be an integer from 1 to 600000');
  }
  if (priority !== undefined && (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY)) {
    throw new ServingError('invalid_parameter', `priority must be an integer from 0 to ${MAX_PRIORITY}`);
  }
  return {
    ...(callbackUrl !== undefined ? { callbackUrl: callbackUrl as string } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(priority !== undefined ? { priority: priority as number } : {}),
    ...(review === true ? { review: true as const } : {}),
    ...(explain === true ? { explain: true as const } : {}),
  };
}
