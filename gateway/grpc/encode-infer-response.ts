import { metadataHeaders } from '../metadata/response-metadata.js';
import type { InferAnswer } from '../request/infer-call.js';
import { writeInferResponse } from './infer-response-writer.js';

/** gRPC's message prefix: a compressed flag and the length, big-endian. */
const PREFIX_BYTES = 5;

/** Messages encoded with their prefix in front (encodeFramedGrpcAnswer), by the message alone. */
const FRAMED = new WeakMap<Buffer, Buffer>();

function encode(answer: InferAnswer, reserve: number, extra?: object): { headers: Record<string, string>; body: Buffer } {
  const { parsed, result, metadata, review } = answer;
  const headers = metadataHeaders(metadata);
  if (review) Object.assign(headers, { 'x-review-id': review.id, 'x-review-status': review.status });
  const body = writeInferResponse(
    {
      model_name: result.model,
      model_version: result.version,
      ...(parsed.id !== undefined ? { id: parsed.id } : {}),
      parameters:
        review || extra ? { ...metadata, ...extra, ...(review ? { review_id: review.id, review_status: review.status } : {}) } : metadata,
      outputs: result.outputs,
    },
    reserve,
  );
  return { headers, body };
}

/**
 * A served inference as an encoded ModelInferResponse: every output in raw_output_contents
 * (what Triton answers and tritonclient reads), the serving facts in `parameters` under
 * the names HTTP uses, and as initial metadata (x-request-id, …) in `headers`.
 */
export function encodeGrpcAnswer(answer: InferAnswer): { headers: Record<string, string>; body: Buffer } {
  return encode(answer, 0);
}

/** What Triton marks every answer on a stream with: no model here is decoupled, so each answer is its request's last. */
export const FINAL_RESPONSE = { triton_final_response: true } as const;

/** An answer on ModelStreamInfer: encodeGrpcAnswer's, marked final (FINAL_RESPONSE) as Triton's stream handler marks them. */
export function encodeStreamGrpcAnswer(answer: InferAnswer): { headers: Record<string, string>; body: Buffer } {
  return encode(answer, 0, FINAL_RESPONSE);
}

/**
 * encodeGrpcAnswer with the message's gRPC prefix written in front of it, in the same buffer:
 * the body is still the message alone (what replays store), and framedOf finds the whole.
 */
export function encodeFramedGrpcAnswer(answer: InferAnswer): { headers: Record<string, string>; body: Buffer } {
  const encoded = encode(answer, PREFIX_BYTES);
  const framed = encoded.body;
  framed[0] = 0;
  framed.writeUInt32BE(framed.length - PREFIX_BYTES, 1);
  const body = framed.subarray(PREFIX_BYTES);
  FRAMED.set(body, framed);
  return { headers: encoded.headers, body };
}

/** The message with its prefix in one buffer, where encodeFramedGrpcAnswer wrote it (not a replayed answer). */
export function framedOf(message: Buffer): Buffer | undefined {
  return FRAMED.get(message);
}
