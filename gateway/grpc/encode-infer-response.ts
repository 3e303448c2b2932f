import { metadataHeaders } from '../metadata/response-metadata.js';
import type { InferAnswer } from '../request/infer-call.js';
import { toGrpcParameters } from './infer-parameters.js';

/**
 * A served inference as a ModelInferResponse object: every output in raw_output_contents
 * (what Triton answers and tritonclient reads), the serving facts in `parameters` under
 * the names HTTP uses, and as initial metadata (x-request-id, …) in `headers`.
 */
export function encodeGrpcAnswer(answer: InferAnswer): { headers: Record<string, string>; message: object } {
  const { parsed, result, metadata, review } = answer;
  const headers = metadataHeaders(metadata);
  if (review) Object.assign(headers, { 'x-review-id': review.id, 'x-review-status': review.status });
  const message = {
    model_name: result.model,
    model_version: result.version,
    ...(parsed.id !== undefined ? { id: parsed.id } : {}),
    parameters: toGrpcParameters({ ...metadata, ...(review ? { review_id: review.id, review_status: review.status } : {}) }),
    outputs: result.outputs.map((tensor) => ({ name: tensor.name, datatype: tensor.datatype, shape: tensor.shape })),
    raw_output_contents: result.outputs.map((tensor) => Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength)),
  };
  return { headers, message };
}
