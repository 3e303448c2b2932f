import { metadataHeaders } from '../metadata/response-metadata.js';
import type { InferAnswer } from '../request/infer-call.js';
import { writeInferResponse } from './infer-response-writer.js';

/**
 * A served inference as an encoded ModelInferResponse: every output in raw_output_contents
 * (what Triton answers and tritonclient reads), the serving facts in `parameters` under
 * the names HTTP uses, and as initial metadata (x-request-id, …) in `headers`.
 */
export function encodeGrpcAnswer(answer: InferAnswer): { headers: Record<string, string>; body: Buffer } {
  const { parsed, result, metadata, review } = answer;
  const headers = metadataHeaders(metadata);
  if (review) Object.assign(headers, { 'x-review-id': review.id, 'x-review-status': review.status });
  const body = writeInferResponse({
    model_name: result.model,
    model_version: result.version,
    ...(parsed.id !== undefined ? { id: parsed.id } : {}),
    parameters: review ? { ...metadata, review_id: review.id, review_status: review.status } : metadata,
    outputs: result.outputs,
  });
  return { headers, body };
}
