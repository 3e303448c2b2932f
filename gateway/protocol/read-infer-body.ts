import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { bodyMediaType, isAudioType, isImageType } from '../http/media-types.js';
import { MultipartBody } from '../http/multipart-body.js';
import { isReadableImage, isWavFile } from '../../workers/media/image-signature.js';
import { ServingError } from '../../workers/protocol/errors.js';
import { encodeBytesElements } from '../../workers/protocol/tensor.js';
import type { ModelDefinition } from '../../workers/repository/load-repository.js';
import { HEADER_LENGTH_HEADER, splitBinaryBody } from './binary-body.js';
import { parseInferRequestOffThread } from './parse-infer-off-thread.js';
import { parseOptionsJson, type ParsedInferRequest } from './parse-infer-request.js';

/** A request body as it came, before it is parsed: what a raw key hashes. */
export interface RawBody {
  /** Everything besides the bytes that decides how they are read (the media type, the binary header's length). */
  readonly form: string;
  readonly bytes: Buffer;
  /** The idempotency fingerprint the parsed path would give. */
  readonly fingerprint: () => string;
}

export interface ReadBody {
  readonly parsed: ParsedInferRequest;
  /** The body's fingerprint for idempotency records (computed only when a key is sent). */
  readonly fingerprint: () => string;
}

const sha256 = (parts: readonly Uint8Array[]): string => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
};

/** The model's one image input, for bodies that are images rather than OIP JSON. */
function imageInput(definition: ModelDefinition, how: string): string {
  const inputs = definition.config.inputs;
  const image = inputs.find((input) => input.image);
  if (!image || inputs.length !== 1)
    throw new ServingError('unsupported_media_type', `model "${definition.name}" takes ${how} only when its one input is an image`);
  return image.name;
}

/**
 * An inference request in any of its forms: OIP JSON (optionally with the binary tensor
 * extension), a raw image body (Content-Type image/png, image/jpeg or image/webp), or a
 * multipart form whose file fields are named after inputs (several files in one field
 * are a batch) and whose optional `request` field holds OIP JSON for outputs and parameters.
 */
export async function readInferBody(request: FastifyRequest, definition: ModelDefinition): Promise<ReadBody> {
  const body = request.body;
  if (body instanceof MultipartBody) return readMultipart(body, definition);
  if (!Buffer.isBuffer(body) || body.length === 0)
    throw new ServingError('empty_body', 'the request has no body: send an inference request as JSON');
  const type = bodyMediaType(request.headers['content-type']);
  if (isImageType(type)) {
    const name = imageInput(definition, 'a raw image body');
    return { parsed: imagesRequest(name, [body], {}), fingerprint: () => sha256([Buffer.from(type), body]) };
  }
  if (isAudioType(type)) {
    throw new ServingError(
      'unsupported_media_type',
      'a raw WAV body goes to pipelines (POST /v1/tasks/{pipeline}); to a model, send WAV files as a BYTES input',
    );
  }
  const headerLength = request.headers[HEADER_LENGTH_HEADER];
  if (type === 'application/octet-stream' && headerLength === undefined) refuseRawFile(body);
  const { header, binary } = splitBinaryBody(body, Array.isArray(headerLength) ? headerLength[0] : headerLength);
  return { parsed: await parseInferRequestOffThread(header, binary), fingerprint: () => sha256([body]) };
}

/**
 * A file sent whole as application/octet-stream would otherwise fail as JSON at its first
 * byte: to a model that type is the binary extension, so the caller is told what to send.
 */
function refuseRawFile(body: Buffer): void {
  if (isReadableImage(body))
    throw new ServingError(
      'unsupported_media_type',
      'the body is an image sent as application/octet-stream, which to a model is the binary extension (with Inference-Header-Content-Length): send it as image/png, image/jpeg or image/webp',
    );
  if (isWavFile(body))
    throw new ServingError(
      'unsupported_media_type',
      'the body is a WAV file sent as application/octet-stream: a raw WAV body goes to pipelines (POST /v1/tasks/{pipeline}); to a model, send WAV files as a BYTES input',
    );
}

/**
 * The body as it came, for the response cache's lookup by bytes: its form is every header
 * readInferBody reads it by, its fingerprint the one readInferBody gives. Undefined for a
 * multipart form, an empty body or a type readInferBody refuses.
 */
export function rawInferBody(request: FastifyRequest): RawBody | undefined {
  const body = request.body;
  if (!Buffer.isBuffer(body) || body.length === 0) return undefined;
  const type = bodyMediaType(request.headers['content-type']);
  if (isImageType(type)) return { form: type, bytes: body, fingerprint: () => sha256([Buffer.from(type), body]) };
  if (isAudioType(type)) return undefined;
  const headerLength = request.headers[HEADER_LENGTH_HEADER];
  const length = Array.isArray(headerLength) ? headerLength[0] : headerLength;
  return { form: `${type}|${length ?? ''}`, bytes: body, fingerprint: () => sha256([body]) };
}

function imagesRequest(name: string, images: readonly Uint8Array[], extra: Partial<ParsedInferRequest>): ParsedInferRequest {
  return {
    outputs: [],
    binaryByDefault: false,
    ...extra,
    inputs: [{ name, datatype: 'BYTES', shape: [images.length], data: encodeBytesElements(images) }],
  };
}

function readMultipart(body: MultipartBody, definition: ModelDefinition): ReadBody {
  const files = new Map<string, Buffer[]>();
  const hashed: Uint8Array[] = [];
  for (const file of body.files) {
    files.set(file.field, [...(files.get(file.field) ?? []), file.data]);
    hashed.push(Buffer.from(file.field), file.data);
  }
  let options: Omit<ParsedInferRequest, 'inputs'> = { outputs: [], binaryByDefault: false };
  const requestField = body.fields.request;
  if (requestField !== undefined) {
    hashed.push(Buffer.from(requestField));
    options = parseOptionsJson(requestField);
  }
  if (files.size === 0)
    throw new ServingError('empty_body', 'the multipart form has no files: name each file field after the input it is for');
  const imageInputs = new Set(definition.config.inputs.filter((input) => input.image).map((input) => input.name));
  for (const field of files.keys()) {
    if (!imageInputs.has(field))
      throw new ServingError('unknown_input', `multipart field "${field}" is not an image input of model "${definition.name}"`);
  }
  if (files.size !== 1) throw new ServingError('invalid_request', 'a multipart form carries one image input');
  const [[name, images]] = [...files.entries()] as [[string, Buffer[]]];
  return { parsed: imagesRequest(name, images, options), fingerprint: () => sha256(hashed) };
}
