import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import { readInferRequest } from './infer-request-reader.js';

/** Next to the compiled file (a copied build) or in the source tree (dist/ beside gateway/). */
const PROTO_CANDIDATES = [
  new URL('./proto/inference.proto', import.meta.url),
  new URL('../../../gateway/grpc/proto/inference.proto', import.meta.url),
];

/**
 * Field names as on the wire; 64-bit integers as strings (exact, converted where used);
 * enums by name; bytes as Buffers (views into the received message, no copy).
 */
const OPTIONS: Options = { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true };

export interface InferenceService {
  readonly packageDefinition: PackageDefinition;
  readonly definition: ServiceDefinition;
}

export function loadInferenceService(): InferenceService {
  const found = PROTO_CANDIDATES.find((url) => existsSync(url));
  if (!found) throw new Error(`inference.proto not found; looked at ${PROTO_CANDIDATES.map((url) => fileURLToPath(url)).join(', ')}`);
  const packageDefinition = loadSync(fileURLToPath(found), OPTIONS);
  const loaded = loadPackageDefinition(packageDefinition) as unknown as {
    inference: { GRPCInferenceService: { service: ServiceDefinition } };
  };
  const service = loaded.inference.GRPCInferenceService.service;
  // Inference answers are encoded by the request pipeline's front end (and kept for
  // Idempotency-Key replays as bytes): a Buffer is sent as it is. Inference requests are
  // read by a decoder of their own, the hot path's largest cost in proto-loader's hands.
  const passThrough = (method: string) => {
    const serialize = service[method]!.responseSerialize;
    return {
      ...service[method]!,
      requestDeserialize: readInferRequest,
      responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : serialize(value)),
    };
  };
  const definition: ServiceDefinition = {
    ...service,
    ModelInfer: passThrough('ModelInfer'),
    ModelStreamInfer: passThrough('ModelStreamInfer'),
  };
  return { packageDefinition, definition };
}
