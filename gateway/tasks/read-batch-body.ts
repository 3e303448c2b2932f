import type { FastifyRequest } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import { MultipartBody } from '../http/multipart-body.js';
import type { PipelineConfig } from '../pipelines/pipeline-config.js';
import { checkInputs, inputSpec, readOptions, type TaskOptions, unknownInput } from './read-task-body.js';
import { isObject, mediaBytes, parseJsonObject } from './task-json.js';

export interface BatchItem {
  readonly inputs: Record<string, unknown>;
  readonly options: TaskOptions;
}

/**
 * A batch of task requests for one pipeline: JSON `{"items": [{"inputs": {...}, "priority": n}, ...],
 * "priority": n, "timeout_ms": n, "callback_url": "..."}` (media as base64; an item's options
 * override the batch's), or multipart with one file per item for a pipeline with a single
 * media input (batch options in an `options` JSON field).
 */
export function readBatchBody(request: FastifyRequest, pipeline: PipelineConfig, maxItems: number): BatchItem[] {
  const body = request.body;
  if (body instanceof MultipartBody) {
    const media = Object.entries(pipeline.inputs).filter(([, input]) => input.kind !== 'json');
    if (media.length !== 1 || Object.keys(pipeline.inputs).length !== 1) {
      throw new ServingError(
        'unsupported_media_type',
        `pipeline "${pipeline.name}" does not take a single media input, so its batch goes as JSON`,
      );
    }
    const shared = body.fields.options === undefined ? {} : parseJsonObject(body.fields.options, 'the "options" field');
    checkCount(body.files.length, maxItems);
    return body.files.map((file) => ({ inputs: checkInputs(pipeline, { [media[0]![0]]: file.data }), options: readOptions(shared) }));
  }
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new ServingError('empty_body', 'the batch has no body: send JSON {"items": [...]} or multipart with one file per item');
  }
  const parsed = parseJsonObject(body, 'the body');
  const items = parsed.items;
  if (!Array.isArray(items)) throw new ServingError('invalid_request', 'the body needs "items": a list of {"inputs": {...}} objects');
  checkCount(items.length, maxItems);
  const { items: _items, ...shared } = parsed;
  return items.map((item, index) => {
    if (!isObject(item) || !isObject(item.inputs)) {
      throw new ServingError('invalid_request', `items[${index}] needs "inputs": an object with one entry per pipeline input`);
    }
    const inputs: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(item.inputs)) {
      const spec = inputSpec(pipeline, name);
      if (!spec) throw unknownInput(pipeline, name);
      if (spec.kind !== 'json') {
        if (typeof value !== 'string')
          throw new ServingError('invalid_request', `items[${index}] input "${name}" (${spec.kind}) goes as a base64 string`);
        inputs[name] = mediaBytes(`items[${index}] input "${name}"`, value);
      } else {
        inputs[name] = value;
      }
    }
    const { inputs: _inputs, ...own } = item;
    return { inputs: checkInputs(pipeline, inputs), options: readOptions({ ...shared, ...own }) };
  });
}

function checkCount(count: number, maxItems: number): void {
  if (count === 0 || count > maxItems)
    throw new ServingError('too_many_items', `a batch holds 1 to ${maxItems} items (TASK_BATCH_MAX_ITEMS), not ${count}`);
}
