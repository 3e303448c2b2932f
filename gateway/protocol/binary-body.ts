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
  return { header: body.subarray(0, length), binary: body.subarray(length) };
}

/** Joins a JSON header and binary tensors into one body; returns it with the header length. */
export function joinBinaryBody(header: string, tensors: readonly Uint8Array[]): { body: Buffer; headerLength: number } {
  const headerBytes = Buffer.from(header);
  const body = Buffer.concat([headerBytes, ...tensors]);
  return { body, headerLength: headerBytes.length };
}
