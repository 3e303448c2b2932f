import { credentials, loadPackageDefinition, Metadata, type Client, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { resolve } from 'node:path';

const PROTO = resolve(import.meta.dirname, '../../gateway/grpc/proto/inference.proto');

/** What the tests read back: the message, or the status with its trailing and initial metadata. */
export interface GrpcReply<T = Record<string, unknown>> {
  readonly message?: T;
  readonly error?: ServiceError;
  readonly headers: Record<string, string>;
}

type Unary = (
  request: object,
  metadata: Metadata,
  options: { deadline?: Date },
  callback: (error: ServiceError | null, message: unknown) => void,
) => { on(event: 'metadata', cb: (m: Metadata) => void): void; cancel(): void };

const metadataOf = (values: Record<string, string>): Metadata => {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(values)) metadata.set(key, value);
  return metadata;
};

export const flatten = (metadata: Metadata | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(metadata?.getMap() ?? {}).map(([key, value]) => [key, String(value)]));

/** A @grpc/grpc-js client of inference.GRPCInferenceService, with bytes as Buffers and 64-bit integers as strings. */
export class InferenceClient {
  readonly client: Client & Record<string, Unary | ((metadata: Metadata) => ClientDuplexStream<object, Record<string, unknown>>)>;

  constructor(address: string, creds = credentials.createInsecure()) {
    const definition = loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true });
    const loaded = loadPackageDefinition(definition) as unknown as {
      inference: {
        GRPCInferenceService: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => InferenceClient['client'];
      };
    };
    this.client = new loaded.inference.GRPCInferenceService(address, creds);
  }

  call<T = Record<string, unknown>>(
    method: string,
    request: object,
    headers: Record<string, string> = {},
    options: { deadline?: Date; cancelAfterMs?: number } = {},
  ): Promise<GrpcReply<T>> {
    return new Promise((done) => {
      let initial: Record<string, string> = {};
      const unary = this.client[method] as Unary;
      const call = unary.call(
        this.client,
        request,
        metadataOf(headers),
        options.deadline ? { deadline: options.deadline } : {},
        (error, message) => {
          done(error ? { error, headers: { ...initial, ...flatten(error.metadata) } } : { message: message as T, headers: initial });
        },
      );
      call.on('metadata', (metadata) => (initial = flatten(metadata)));
      if (options.cancelAfterMs !== undefined) setTimeout(() => call.cancel(), options.cancelAfterMs);
    });
  }

  stream(headers: Record<string, string> = {}): ClientDuplexStream<object, Record<string, unknown>> {
    return (this.client.ModelStreamInfer as (metadata: Metadata) => ClientDuplexStream<object, Record<string, unknown>>).call(
      this.client,
      metadataOf(headers),
    );
  }

  close(): void {
    this.client.close();
  }
}

/** FP32 values as one raw_input_contents entry. */
export const rawFloats = (values: readonly number[]): Buffer => Buffer.from(Float32Array.from(values).buffer);
export const floatsOf = (raw: Buffer): number[] =>
  Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));

/** A ModelInferRequest for the MLP (input [1, 512]) with raw contents. */
export function mlpRequest(model: string, values: readonly number[], extra: Record<string, unknown> = {}): object {
  return {
    model_name: model,
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, values.length] }],
    raw_input_contents: [rawFloats(values)],
    ...extra,
  };
}
