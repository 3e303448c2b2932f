import type { Tensor } from '../../workers/protocol/tensor.js';

/** Bytes of a varint holding a non-negative safe integer. */
function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size += 1;
  }
  return size;
}

function writeVarint(buffer: Buffer, at: number, value: number): number {
  while (value >= 128) {
    buffer[at++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  buffer[at++] = value;
  return at;
}

/** An int64 as protobuf writes it: a negative value is its 64-bit two's complement, ten bytes. */
const int64Size = (value: number): number => (value < 0 ? 10 : varintSize(value));

function writeInt64(buffer: Buffer, at: number, value: number): number {
  if (value >= 0) return writeVarint(buffer, at, value);
  let rest = BigInt.asUintN(64, BigInt(value));
  for (let index = 0; index < 9; index += 1) {
    buffer[at++] = Number(rest & 0x7fn) | 0x80;
    rest >>= 7n;
  }
  buffer[at++] = Number(rest);
  return at;
}

/** A string's UTF-8 length: counted here for short strings (a native call costs more), natively for long ones. */
function utf8Length(text: string): number {
  if (text.length > 64) return Buffer.byteLength(text);
  let bytes = text.length;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code < 0xdc00 && (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: four bytes for two UTF-16 units.
      bytes += 2;
      index += 1;
    } else bytes += 2; // the rest of the BMP, and a lone surrogate (written as U+FFFD)
  }
  return bytes;
}

/** A string's UTF-8 bytes; ASCII (its byte length equals its length) copied char by char, cheaper than a native call for short ones. */
function writeString(buffer: Buffer, at: number, text: string, bytes: number): number {
  if (bytes === text.length && bytes < 64) {
    for (let index = 0; index < bytes; index += 1) buffer[at + index] = text.charCodeAt(index);
    return at + bytes;
  }
  buffer.write(text, at, bytes, 'utf8');
  return at + bytes;
}

/** Field tag bytes (every field used here is below 16: one byte). */
const tag = (field: number, wireType: number): number => (field << 3) | wireType;
const LENGTH = 2;

/** One InferParameter, chosen as toGrpcParameters chooses: integers int64, other numbers double, the rest strings. */
type ParameterValue =
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'int64'; readonly value: number }
  | { readonly kind: 'double'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string; readonly bytes: number };

function parameterOf(value: unknown): ParameterValue {
  if (typeof value === 'boolean') return { kind: 'bool', value };
  if (typeof value === 'number' && Number.isSafeInteger(value)) return { kind: 'int64', value };
  if (typeof value === 'number') return { kind: 'double', value };
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return { kind: 'string', value: text, bytes: utf8Length(text) };
}

/** The InferParameter message's size (one field of its oneof). */
function parameterSize(parameter: ParameterValue): number {
  switch (parameter.kind) {
    case 'bool':
      return 2;
    case 'int64':
      return 1 + int64Size(parameter.value);
    case 'double':
      return 9;
    case 'string':
      return 1 + varintSize(parameter.bytes) + parameter.bytes;
  }
}

function writeParameter(buffer: Buffer, at: number, parameter: ParameterValue): number {
  switch (parameter.kind) {
    case 'bool':
      buffer[at] = tag(1, 0);
      buffer[at + 1] = parameter.value ? 1 : 0;
      return at + 2;
    case 'int64':
      buffer[at] = tag(2, 0);
      return writeInt64(buffer, at + 1, parameter.value);
    case 'double':
      buffer[at] = tag(4, 1);
      buffer.writeDoubleLE(parameter.value, at + 1);
      return at + 9;
    case 'string':
      buffer[at] = tag(3, LENGTH);
      return writeString(buffer, writeVarint(buffer, at + 1, parameter.bytes), parameter.value, parameter.bytes);
  }
}

export interface InferResponseFields {
  readonly model_name: string;
  readonly model_version: string;
  readonly id?: string;
  /** Plain values: each becomes the InferParameter its type calls for; undefined ones are left out. */
  readonly parameters: object;
  /** Every output, its data in raw_output_contents (little-endian, as the tensors hold it). */
  readonly outputs: readonly Tensor[];
}

/** A length-delimited field's size: tag, length, body. */
const fieldSize = (bytes: number): number => 1 + varintSize(bytes) + bytes;

/**
 * ModelInferResponse written straight into one buffer (sizes first, then the bytes: no
 * intermediate writer, no copy but the tensor bytes'), with `reserve` bytes left free in
 * front of it for a transport prefix. Fields in number order, as protobuf serializers write them.
 */
export function writeInferResponse(response: InferResponseFields, reserve = 0): Buffer {
  const nameBytes = utf8Length(response.model_name);
  const versionBytes = utf8Length(response.model_version);
  const id = response.id === undefined || response.id === '' ? undefined : response.id;
  const idBytes = id === undefined ? 0 : utf8Length(id);

  const keys: string[] = [];
  const keyBytes: number[] = [];
  const values: ParameterValue[] = [];
  const entrySizes: number[] = [];
  const parameters = response.parameters as Record<string, unknown>;
  let size = fieldSize(nameBytes) + fieldSize(versionBytes) + (id === undefined ? 0 : fieldSize(idBytes));
  for (const key in parameters) {
    const value = parameters[key];
    if (value === undefined) continue;
    const parameter = parameterOf(value);
    const bytes = utf8Length(key);
    const entry = fieldSize(bytes) + fieldSize(parameterSize(parameter));
    keys.push(key);
    keyBytes.push(bytes);
    values.push(parameter);
    entrySizes.push(entry);
    size += fieldSize(entry);
  }
  const outputs = response.outputs;
  const outputSizes: number[] = [];
  const outputNameBytes: number[] = [];
  const datatypeBytes: number[] = [];
  const shapeSizes: number[] = [];
  for (const tensor of outputs) {
    const name = utf8Length(tensor.name);
    const datatype = utf8Length(tensor.datatype);
    let shape = 0;
    for (const dim of tensor.shape) shape += int64Size(dim);
    const tensorSize = fieldSize(name) + fieldSize(datatype) + (tensor.shape.length > 0 ? fieldSize(shape) : 0);
    outputNameBytes.push(name);
    datatypeBytes.push(datatype);
    shapeSizes.push(shape);
    outputSizes.push(tensorSize);
    size += fieldSize(tensorSize) + fieldSize(tensor.data.byteLength);
  }

  const buffer = Buffer.allocUnsafe(reserve + size);
  let at = reserve;
  buffer[at++] = tag(1, LENGTH);
  at = writeString(buffer, writeVarint(buffer, at, nameBytes), response.model_name, nameBytes);
  buffer[at++] = tag(2, LENGTH);
  at = writeString(buffer, writeVarint(buffer, at, versionBytes), response.model_version, versionBytes);
  if (id !== undefined) {
    buffer[at++] = tag(3, LENGTH);
    at = writeString(buffer, writeVarint(buffer, at, idBytes), id, idBytes);
  }
  for (let index = 0; index < keys.length; index += 1) {
    const parameter = values[index]!;
    buffer[at++] = tag(4, LENGTH);
    at = writeVarint(buffer, at, entrySizes[index]!);
    buffer[at++] = tag(1, LENGTH);
    at = writeString(buffer, writeVarint(buffer, at, keyBytes[index]!), keys[index]!, keyBytes[index]!);
    buffer[at++] = tag(2, LENGTH);
    at = writeParameter(buffer, writeVarint(buffer, at, parameterSize(parameter)), parameter);
  }
  for (let index = 0; index < outputs.length; index += 1) {
    const tensor = outputs[index]!;
    buffer[at++] = tag(5, LENGTH);
    at = writeVarint(buffer, at, outputSizes[index]!);
    buffer[at++] = tag(1, LENGTH);
    at = writeString(buffer, writeVarint(buffer, at, outputNameBytes[index]!), tensor.name, outputNameBytes[index]!);
    buffer[at++] = tag(2, LENGTH);
    at = writeString(buffer, writeVarint(buffer, at, datatypeBytes[index]!), tensor.datatype, datatypeBytes[index]!);
    if (tensor.shape.length > 0) {
      buffer[at++] = tag(3, LENGTH);
      at = writeVarint(buffer, at, shapeSizes[index]!);
      for (const dim of tensor.shape) at = writeInt64(buffer, at, dim);
    }
  }
  for (const tensor of outputs) {
    const { data } = tensor;
    buffer[at++] = tag(6, LENGTH);
    at = writeVarint(buffer, at, data.byteLength);
    buffer.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    at += data.byteLength;
  }
  return buffer;
}
