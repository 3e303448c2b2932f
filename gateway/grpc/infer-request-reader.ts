import protobuf from 'protobufjs';
import type { GrpcParameter, GrpcParameters } from './infer-parameters.js';
import type { GrpcInferRequest } from './decode-infer-request.js';
import { BytesLayout } from './bytes-layout.js';

type Reader = protobuf.Reader;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A 64-bit integer as proto-loader's `longs: String` gives it: exact, in decimal. */
const int64 = (value: number | { toString(): string }): string => (typeof value === 'number' ? String(value) : value.toString());

/** InferTensorContents field number -> its key and how one element is read (a string for 64-bit values). */
const CONTENTS: Readonly<Record<number, readonly [string, (reader: Reader) => unknown]>> = {
  1: ['bool_contents', (r) => r.bool()],
  2: ['int_contents', (r) => r.int32()],
  3: ['int64_contents', (r) => int64(r.int64())],
  4: ['uint_contents', (r) => r.uint32()],
  5: ['uint64_contents', (r) => int64(r.uint64())],
  6: ['fp32_contents', (r) => r.float()],
  7: ['fp64_contents', (r) => r.double()],
  8: ['bytes_contents', (r) => r.bytes()],
};

/** A repeated scalar: packed (one length-delimited run) or one element per tag, as proto3 allows both. */
function readRepeated(reader: Reader, wireType: number, readOne: (reader: Reader) => unknown, out: unknown[]): void {
  if (wireType !== 2) {
    out.push(readOne(reader));
    return;
  }
  const end = reader.uint32() + reader.pos;
  while (reader.pos < end) out.push(readOne(reader));
}

/** One bytes_contents element, and the short ones right after it, up to `end` (the contents' end). */
function readBytesElement(reader: Reader, wireType: number, layout: BytesLayout, end: number): void {
  if (wireType !== 2) throw new Error(`bytes_contents with wire type ${wireType}`);
  const length = reader.uint32();
  const start = reader.pos;
  if (start + length > end) throw new Error('bytes_contents element past the end of its contents');
  layout.append(reader.buf, start, start + length);
  // The short elements that follow, read without protobufjs's per-call varint reads.
  reader.pos = layout.appendShortRun(reader.buf, start + length, end, BYTES_CONTENTS_TAG);
}

/** bytes_contents (field 8) with wire type 2, as one tag byte. */
const BYTES_CONTENTS_TAG = (8 << 3) | 2;

function readContents(reader: Reader, end: number): Record<string, unknown[] | BytesLayout> {
  const contents: Record<string, unknown[] | BytesLayout> = {};
  while (reader.pos < end) {
    const tag = reader.uint32();
    const field = CONTENTS[tag >>> 3];
    if (!field) {
      reader.skipType(tag & 7);
      continue;
    }
    const [key, readOne] = field;
    // bytes_contents is never packed: its wire type 2 is one element, copied into the BYTES layout.
    if (key === 'bytes_contents') readBytesElement(reader, tag & 7, (contents.bytes_contents ??= new BytesLayout()) as BytesLayout, end);
    else readRepeated(reader, tag & 7, readOne, (contents[key] ??= []) as unknown[]);
  }
  return contents;
}

const PARAMETER_CHOICES: Readonly<Record<number, readonly [string, (reader: Reader) => unknown]>> = {
  1: ['bool_param', (r) => r.bool()],
  2: ['int64_param', (r) => int64(r.int64())],
  3: ['string_param', (r) => r.string()],
  4: ['double_param', (r) => r.double()],
  5: ['uint64_param', (r) => int64(r.uint64())],
};

function readParameter(reader: Reader, end: number): GrpcParameter {
  const parameter: Record<string, unknown> = {};
  while (reader.pos < end) {
    const tag = reader.uint32();
    const choice = PARAMETER_CHOICES[tag >>> 3];
    if (!choice) {
      reader.skipType(tag & 7);
      continue;
    }
    // A oneof keeps the last member set.
    for (const [key] of Object.values(PARAMETER_CHOICES)) delete parameter[key];
    parameter[choice[0]] = choice[1](reader);
    parameter.parameter_choice = choice[0];
  }
  return parameter;
}

/** One map<string, InferParameter> entry (key 1, value 2) into `into`. */
function readParameterEntry(reader: Reader, into: Record<string, GrpcParameter>): void {
  const end = reader.uint32() + reader.pos;
  let key = '';
  let value: GrpcParameter = {};
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1) key = reader.string();
    else if (tag >>> 3 === 2) value = readParameter(reader, reader.uint32() + reader.pos);
    else reader.skipType(tag & 7);
  }
  into[key] = value;
}

type Input = Mutable<NonNullable<GrpcInferRequest['inputs']>[number]>;
type Output = Mutable<NonNullable<GrpcInferRequest['outputs']>[number]>;

function readInput(reader: Reader, end: number): Input {
  const input: Input = { name: '', datatype: '', shape: [] };
  const shape: string[] = [];
  let parameters: Record<string, GrpcParameter> | undefined;
  while (reader.pos < end) {
    const tag = reader.uint32();
    switch (tag >>> 3) {
      case 1:
        input.name = reader.string();
        break;
      case 2:
        input.datatype = reader.string();
        break;
      case 3:
        readRepeated(reader, tag & 7, (r) => int64(r.int64()), shape);
        break;
      case 4:
        readParameterEntry(reader, (parameters ??= {}));
        break;
      case 5:
        input.contents = readContents(reader, reader.uint32() + reader.pos);
        break;
      default:
        reader.skipType(tag & 7);
    }
  }
  input.shape = shape;
  if (parameters) input.parameters = parameters;
  return input;
}

function readOutput(reader: Reader, end: number): Output {
  const output: Output = { name: '' };
  let parameters: Record<string, GrpcParameter> | undefined;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1) output.name = reader.string();
    else if (tag >>> 3 === 2) readParameterEntry(reader, (parameters ??= {}));
    else reader.skipType(tag & 7);
  }
  if (parameters) output.parameters = parameters;
  return output;
}

/**
 * ModelInferRequest straight from the wire into the shape proto-loader gives (snake_case
 * fields, 64-bit integers as decimal strings, oneofs naming their member, bytes as Buffer
 * views into the message, no copy), without proto-loader's generic decode-then-convert,
 * which cost several times this on every call. Malformed bytes throw, as protobufjs does.
 */
export function readInferRequest(bytes: Buffer): GrpcInferRequest {
  const reader = protobuf.Reader.create(bytes);
  const request: Mutable<GrpcInferRequest> = {};
  const inputs: Input[] = [];
  const outputs: Output[] = [];
  const raw: Buffer[] = [];
  let parameters: Record<string, GrpcParameter> | undefined;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    switch (tag >>> 3) {
      case 1:
        request.model_name = reader.string();
        break;
      case 2:
        request.model_version = reader.string();
        break;
      case 3:
        request.id = reader.string();
        break;
      case 4:
        readParameterEntry(reader, (parameters ??= {}));
        break;
      case 5:
        inputs.push(readInput(reader, reader.uint32() + reader.pos));
        break;
      case 6:
        outputs.push(readOutput(reader, reader.uint32() + reader.pos));
        break;
      case 7:
        raw.push(reader.bytes() as Buffer);
        break;
      default:
        reader.skipType(tag & 7);
    }
  }
  request.inputs = inputs;
  request.outputs = outputs;
  request.raw_input_contents = raw;
  if (parameters) request.parameters = parameters as GrpcParameters;
  return request;
}
