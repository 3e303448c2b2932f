import { encodeBytesElements } from '../../workers/protocol/tensor.js';

export interface BinaryInput {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

export interface BinaryReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  /** The JSON part (the whole body unless outputs came back binary). */
  json<T = Record<string, unknown>>(): T;
}

/** POSTs an OIP request whose inputs all travel in the binary tensor extension. */
export async function postBinary(url: string, inputs: readonly BinaryInput[], options: Record<string, unknown> = {}): Promise<BinaryReply> {
  const header = Buffer.from(
    JSON.stringify({
      ...options,
      inputs: inputs.map(({ name, datatype, shape, data }) => ({
        name,
        datatype,
        shape,
        parameters: { binary_data_size: data.byteLength },
      })),
    }),
  );
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    body: Buffer.concat([header, ...inputs.map((input) => input.data)]),
  });
  const body = Buffer.from(await response.arrayBuffer());
  const jsonLength = Number(response.headers.get('inference-header-content-length') ?? body.length);
  return {
    status: response.status,
    headers: response.headers,
    body,
    json: <T>() => JSON.parse(body.subarray(0, jsonLength).toString()) as T,
  };
}

/** Encoded files (images, WAVs) as one BYTES input of shape [n]. */
export function filesInput(name: string, files: readonly Uint8Array[]): BinaryInput {
  return { name, datatype: 'BYTES', shape: [files.length], data: encodeBytesElements(files) };
}
