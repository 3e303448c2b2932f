import type { InferResult } from '../../workers/protocol/inference.js';
import { metadataHeaders, type ResponseMetadata } from '../metadata/response-metadata.js';
import { encodeInferResponse } from '../protocol/encode-infer-response.js';
import type { ParsedInferRequest } from '../protocol/parse-infer-request.js';
import { HEADER_LENGTH_HEADER, type EncodedAnswer } from '../protocol/binary-body.js';

/** How an answer's `parameters` are written before they are filled in. */
const EMPTY_PARAMETERS = ',"parameters":{}';

export interface AnswerTemplate {
  readonly encode: (metadata: ResponseMetadata) => EncodedAnswer;
  readonly bytes: number;
}

/**
 * An HTTP answer encoded once, as the infer route encodes it (routes/infer.ts: the same
 * encoder, so the same bytes), with its metadata left to fill in per call: a raw hit writes
 * two strings around the metadata instead of encoding the tensors again. `,"` never occurs
 * inside a JSON string (its quote would be escaped), so the first `,"parameters":{}` is the
 * answer's own.
 */
export function httpAnswerTemplate(parsed: ParsedInferRequest, result: InferResult): AnswerTemplate | undefined {
  const encoded = encodeInferResponse(
    {
      model_name: result.model,
      model_version: result.version,
      ...(parsed.id !== undefined ? { id: parsed.id } : {}),
      parameters: {},
    },
    result.outputs,
    parsed.outputs,
    parsed.binaryByDefault,
  );
  const { headerLength } = encoded;
  const json = headerLength === undefined ? String(encoded.body) : (encoded.body as Buffer).toString('utf8', 0, headerLength);
  const at = json.indexOf(EMPTY_PARAMETERS);
  if (at < 0) return undefined;
  const before = `${json.slice(0, at)},"parameters":`;
  const after = json.slice(at + EMPTY_PARAMETERS.length);
  // The binary outputs, copied out of the body they were encoded into.
  const tail = headerLength === undefined ? undefined : Buffer.from((encoded.body as Buffer).subarray(headerLength));
  return {
    bytes: 2 * (before.length + after.length) + (tail?.byteLength ?? 0),
    encode: (metadata) => {
      const headers = metadataHeaders(metadata);
      const text = before + JSON.stringify(metadata) + after;
      if (!tail) {
        headers['content-type'] = 'application/json';
        return { headers, body: text };
      }
      const head = Buffer.from(text);
      headers[HEADER_LENGTH_HEADER] = String(head.byteLength);
      headers['content-type'] = 'application/octet-stream';
      return { headers, body: Buffer.concat([head, tail]) };
    },
  };
}
