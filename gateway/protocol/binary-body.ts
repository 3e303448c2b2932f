import { Readable } from 'node:stream';
import { ServingError } from '../../workers/protocol/errors.js';

/** Triton's binary tensor extension: a JSON header, then raw tensor bytes. */
export const HEADER_LENGTH_HEADER = 'inference-header-content-length';

export interface SplitBody {
  readonly header: Buffer;
  /** Bytes after the JSON header (empty without the extension). */
  readonly binary: Buffer;
}

export function splitBinaryBody(body: Buffer, headerLength: string | undefined): SplitBody {
  if (headerLength === undefined) return { header: body, binary: body.subarray(body.length) };
  const length = /^\d+$/.test(headerLength.trim()) ? Number(headerLength) : Number.NaN;
  if (!Number.isSafeInteger(length) || length > body.length) {
    throw new ServingError(
      'invalid_binary_body',
      `Inference-Header-Content-Length "${headerLength}" is not a length within the ${body.length}-byte body`,
    );
  }
  // An OIP body always starts with its JSON header: 0 is a wrong length, not a missing body.
  if (length === 0) {
    throw new ServingError(
      'invalid_binary_body',
      `Inference-Header-Content-Length 0 leaves the ${body.length}-byte body no JSON header: it counts the header's bytes`,
    );
  }
  return { header: body.subarray(0, length), binary: body.subarray(length) };
}

/** Joins a JSON header and binary tensors into one body; returns it with the header length. */
export function joinBinaryBody(header: string, tensors: readonly Uint8Array[]): { body: Buffer; headerLength: number } {
  const headerBytes = Buffer.from(header);
  const body = Buffer.concat([headerBytes, ...tensors]);
  return { body, headerLength: headerBytes.length };
}

/**
 * A body kept as the parts it was built from (a JSON header, then tensor bytes that still lie in
 * the buffers the instance thread handed over) and written part by part: a large answer is
 * never copied into one new buffer on the event loop.
 */
export class BodyParts {
  readonly byteLength: number;

  constructor(readonly parts: readonly Buffer[]) {
    this.byteLength = parts.reduce((sum, part) => sum + part.byteLength, 0);
  }

  /** The parts joined: for callers that keep the body (an idempotent answer's record). */
  toBuffer(): Buffer {
    return Buffer.concat(this.parts as Buffer[], this.byteLength);
  }

  /** A stream of the parts, for a reply: each one is written as it is. */
  stream(): Readable {
    return Readable.from(this.parts, { objectMode: false });
  }
}

/** Answers whose binary outputs reach this size are sent as their parts; below it one joined buffer costs less. */
export const SEND_AS_PARTS_MIN_BYTES = 64 * 1024;

/** A body as bytes, whatever form it was encoded in. */
export function bodyBytes(body: string | Buffer | BodyParts): Buffer {
  if (body instanceof BodyParts) return body.toBuffer();
  return typeof body === 'string' ? Buffer.from(body) : body;
}

/** An answer as its transport writes it: headers and a body (a large binary answer kept in parts). */
export interface EncodedAnswer {
  readonly headers: Readonly<Record<string, string>>;
  /** BodyParts: a large binary answer kept in parts; HTTP writes them one by one. */
  readonly body: string | Buffer | BodyParts;
}
