import protobuf from 'protobufjs';
import type { Tensor } from '../../workers/protocol/tensor.js';

type Writer = protobuf.Writer;

/** One InferParameter value, chosen as toGrpcParameters chooses: integers int64, other numbers double. */
function writeParameter(writer: Writer, value: unknown): void {
  if (typeof value === 'boolean') writer.uint32((1 << 3) | 0).bool(value);
  else if (typeof value === 'number' && Number.isInteger(value)) writer.uint32((2 << 3) | 0).int64(value);
  else if (typeof value === 'number') writer.uint32((4 << 3) | 1).double(value);
  else writer.uint32((3 << 3) | 2).string(typeof value === 'string' ? value : JSON.stringify(value));
}

/** map<string, InferParameter> entries under `field`; undefined values are left out. */
function writeParameters(writer: Writer, field: number, values: object): void {
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    writer.uint32((field << 3) | 2).fork();
    writer.uint32((1 << 3) | 2).string(key);
    writer.uint32((2 << 3) | 2).fork();
    writeParameter(writer, value);
    writer.ldelim();
    writer.ldelim();
  }
}

export interface InferResponseFields {
  readonly model_name: string;
  readonly model_version: string;
  readonly id?: string;
  /** Plain values: each becomes the InferParameter its type calls for. */
  readonly parameters: object;
  /** Every output, its data in raw_output_contents (little-endian, as the tensors hold it). */
  readonly outputs: readonly Tensor[];
}

/**
 * ModelInferResponse written field by field: proto-loader's fromObject-then-encode of the
 * same message cost tens of microseconds per answer. The tensor bytes are copied once,
 * into the message.
 */
export function writeInferResponse(response: InferResponseFields): Buffer {
  const writer = protobuf.Writer.create();
  writer.uint32((1 << 3) | 2).string(response.model_name);
  writer.uint32((2 << 3) | 2).string(response.model_version);
  if (response.id !== undefined && response.id !== '') writer.uint32((3 << 3) | 2).string(response.id);
  writeParameters(writer, 4, response.parameters);
  for (const tensor of response.outputs) {
    writer.uint32((5 << 3) | 2).fork();
    writer.uint32((1 << 3) | 2).string(tensor.name);
    writer.uint32((2 << 3) | 2).string(tensor.datatype);
    if (tensor.shape.length > 0) {
      writer.uint32((3 << 3) | 2).fork();
      for (const dim of tensor.shape) writer.int64(dim);
      writer.ldelim();
    }
    writer.ldelim();
  }
  for (const tensor of response.outputs) {
    writer.uint32((6 << 3) | 2).bytes(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
  }
  return writer.finish() as Buffer;
}
