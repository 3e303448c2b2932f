import type { Tensor } from '../../workers/protocol/tensor.js';
import { joinBinaryBody } from './binary-body.js';
import { encodeJsonData } from './json-tensor-data.js';
import type { RequestedOutput } from './parse-infer-request.js';

export interface EncodedResponse {
  readonly body: string | Buffer;
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
  const binaryParts: Uint8Array[] = [];
  const entries = outputs.map((tensor) => {
    const binary = requested.find((output) => output.name === tensor.name)?.binary ?? binaryByDefault;
    const base = { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape };
    if (!binary) return { ...base, data: encodeJsonData(tensor.datatype, tensor.data) };
    const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    binaryParts.push(bytes);
    return { ...base, parameters: { binary_data_size: bytes.byteLength } };
  });
  const json = JSON.stringify({ ...head, outputs: entries });
  if (binaryParts.length === 0) return { body: json };
  const { body, headerLength } = joinBinaryBody(json, binaryParts);
  return { body, headerLength };
}
