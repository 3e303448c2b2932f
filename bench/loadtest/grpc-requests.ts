import { Metadata } from '@grpc/grpc-js';
import { loadInferenceService } from '../../gateway/grpc/load-service.js';
import { HEADER_LENGTH_HEADER, splitBinaryBody } from '../../gateway/protocol/binary-body.js';
import { parseInferRequest } from '../../gateway/protocol/parse-infer-request.js';
import type { NextRequest } from './request-schedule.js';

/** A scheduled HTTP request as a gRPC call: the serialized ModelInferRequest and its metadata. */
export interface GrpcRequest {
  readonly message: Buffer;
  readonly metadata: Metadata;
}

const INFER_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/;

/** Headers that mean something over gRPC too, as metadata. */
const CARRIED = new Set(['authorization', 'idempotency-key', 'x-tier', 'x-review', 'traceparent']);

/** A request's headers that travel as gRPC metadata, lower-cased: what a raw HTTP/2 call sends beside its own. */
export function carriedHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const carried: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (CARRIED.has(name.toLowerCase())) carried[name.toLowerCase()] = value;
  return carried;
}

/**
 * Converts the load test's OIP bodies (JSON or binary extension) into ModelInferRequests with
 * raw_input_contents, once per distinct body: the load itself then only sends bytes.
 */
export class GrpcRequestCodec {
  readonly #serialize = loadInferenceService().definition.ModelInfer!.requestSerialize;
  readonly #messages = new Map<Buffer, Buffer>();

  /** With `id`, the message carries it (streams match answers by id): appended, as protobuf's last value wins. */
  /** The serialized message alone, built once per distinct body. */
  message(next: NextRequest): Buffer {
    let message = this.#messages.get(next.body);
    if (!message) {
      message = this.#build(next);
      this.#messages.set(next.body, message);
    }
    return message;
  }

  encode(next: NextRequest, id?: string): GrpcRequest {
    const metadata = new Metadata();
    for (const [name, value] of Object.entries(carriedHeaders(next.headers))) metadata.set(name, value);
    let message = this.#messages.get(next.body);
    if (!message) {
      message = this.#build(next);
      this.#messages.set(next.body, message);
    }
    return { message: id === undefined ? message : Buffer.concat([message, idField(id)]), metadata };
  }

  #build(next: NextRequest): Buffer {
    const match = INFER_PATH.exec(next.path);
    if (!match) throw new Error(`not an inference path: ${next.path}`);
    const type = (next.headers['content-type'] ?? '').split(';')[0]!.trim();
    const headerLength = next.headers[HEADER_LENGTH_HEADER];
    if (type !== 'application/json' && headerLength === undefined) {
      throw new Error(`gRPC load tests send OIP bodies (JSON or binary tensors), not ${type || 'this body'}`);
    }
    const { header, binary } = splitBinaryBody(next.body, headerLength);
    const parsed = parseInferRequest(header, binary);
    return this.#serialize({
      model_name: decodeURIComponent(match[1]!),
      ...(match[2] !== undefined ? { model_version: decodeURIComponent(match[2]) } : {}),
      ...(parsed.id !== undefined ? { id: parsed.id } : {}),
      inputs: parsed.inputs.map((tensor) => ({ name: tensor.name, datatype: tensor.datatype, shape: tensor.shape })),
      outputs: parsed.outputs.map((output) => ({ name: output.name })),
      raw_input_contents: parsed.inputs.map((tensor) => Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength)),
    });
  }
}

/** ModelInferRequest field 3 (id, a string): tag, length, bytes. */
function idField(id: string): Buffer {
  const bytes = Buffer.from(id);
  if (bytes.length > 127) throw new Error('stream ids are short');
  return Buffer.concat([Buffer.from([0x1a, bytes.length]), bytes]);
}
