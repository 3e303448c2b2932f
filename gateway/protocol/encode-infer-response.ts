import type { Tensor } from '../../workers/protocol/tensor.js';
import { BodyParts, joinBinaryBody, SEND_AS_PARTS_MIN_BYTES } from './binary-body.js';
import { stringifyJson } from '../http/exact-json.js';
import { encodeJsonData, refuseLargeJsonOutputs } from './json-tensor-data.js';
import type { RequestedOutput } from './parse-infer-request.js';

export interface EncodedResponse {
  /** Large binary answers stay in parts (no copy of the outputs into one buffer). */
  readonly body: string | Buffer | BodyParts;
  /** Set when any output went to the binary section. */
  readonly headerLength?: number;
}

interface ResponseHead {
  readonly model_name: string;
  readonly model_version: string;
  readonly id?: string;
  readonly parameters: object;
}

/** An OIP infer response: JSON, or a JSON header plus binary outputs when any was asked as binary. */
export function encodeInferResponse(
  head: ResponseHead,
  outputs: readonly Tensor[],
  requested: readonly RequestedOutput[],
  binaryByDefault: boolean,
): EncodedResponse {
  const binaryParts: Buffer[] = [];
  const asBinary = outputs.map((tensor) => requested.find((output) => output.name === tensor.name)?.binary ?? binaryByDefault);
  refuseLargeJsonOutputs(
    outputs.filter((_, index) => !asBinary[index]),
    'ask for binary outputs ("parameters": {"binary_data_output": true}, or "binary_data": true on each output)',
  );
  const entries = outputs.map((tensor, index) => {
    const binary = asBinary[index];
    const base = { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape };
    if (!binary) return { ...base, data: encodeJsonData(tensor.datatype, tensor.data) };
    const bytes = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    binaryParts.push(bytes);
    return { ...base, parameters: { binary_data_size: bytes.byteLength } };
  });
  const json = stringifyJson({ ...head, outputs: entries });
  if (binaryParts.length === 0) return { body: json };
  if (binaryParts.reduce((sum, part) => sum + part.byteLength, 0) >= SEND_AS_PARTS_MIN_BYTES) {
    const header = Buffer.from(json);
    return { body: new BodyParts([header, ...binaryParts]), headerLength: header.byteLength };
  }
  const { body, headerLength } = joinBinaryBody(json, binaryParts);
  return { body, headerLength };
}
