import { createHash } from 'node:crypto';
import { ServingError } from '../../workers/protocol/errors.js';
import { invalidJson } from '../http/json-error.js';
import { base64Problem } from '../protocol/base64.js';

export interface TaskJsonJob {
  readonly pipeline: string;
  /** The body's Content-Type, part of the fingerprint. */
  readonly type: string;
  readonly body: Uint8Array;
  /** Names of the pipeline's media inputs, which arrive as base64 strings. */
  readonly media: readonly string[];
}

export interface TaskJson {
  /** The body, with its media inputs' base64 strings decoded to bytes. */
  readonly parsed: Record<string, unknown>;
  readonly fingerprint: string;
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function parseJsonObject(text: string | Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
  } catch {
    throw invalidJson(what, typeof text === 'string' ? Buffer.from(text) : text);
  }
  if (!isObject(value)) throw new ServingError('invalid_request', `${what} must be a JSON object`);
  return value;
}

/** `data:image/png;base64,...` (what a browser's FileReader gives) is its base64 part; other strings are base64 already. */
const DATA_URI = /^data:[\w.+-]+\/[\w.+-]+(?:;[\w.+-]+=[\w.+-]+)*;base64,/i;
const withoutDataUriPrefix = (value: string): string => {
  const prefix = DATA_URI.exec(value.slice(0, 256));
  return prefix ? value.slice(prefix[0].length) : value;
};

/** A media input's base64 string (or data: URI) as its bytes; a string that is not base64 is refused, not decoded to other bytes. */
export function mediaBytes(where: string, value: string): Buffer {
  const base64 = withoutDataUriPrefix(value);
  const problem = base64Problem(base64);
  if (problem !== undefined)
    throw new ServingError('invalid_request', `${where} is not valid base64: ${problem}; send the file's bytes as base64 or a data: URI`);
  return Buffer.from(base64, 'base64');
}

/**
 * A JSON task body: parsed, its media inputs decoded from base64, and its fingerprint. The
 * work a large body costs, so it runs on a thread for those (see task-json-off-thread.ts).
 */
export function parseTaskJson(job: TaskJsonJob): TaskJson {
  const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
  const fingerprint = createHash('sha256').update(job.pipeline).update(job.type).update(body).digest('hex');
  const parsed = parseJsonObject(body, 'the body');
  if (isObject(parsed.inputs)) {
    for (const name of job.media) {
      const value = parsed.inputs[name];
      if (typeof value === 'string') parsed.inputs[name] = mediaBytes(`input "${name}"`, value);
    }
  }
  return { parsed, fingerprint };
}
