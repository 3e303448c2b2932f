import { fromBf16Bits, fromFp16Bits, toBf16Bits, toFp16Bits } from '../workers/protocol/half-precision.js';
import {
  allocate,
  datatypeOf,
  decodeBytes,
  isDatatype,
  tensorBytes,
  utf8,
  viewTensor,
  type BytesElements,
  type Datatype,
  type NumericArray,
  type TensorData,
} from './datatypes.js';

export interface InputTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: TensorData;
  /** Defaults from the array type (Float32Array: FP32, string[]: BYTES...); needed for BOOL, FP16 and BF16. */
  readonly datatype?: Datatype;
}

/** One output. BYTES data is a string per element (`raw` keeps the bytes); FP16/BF16 are their bits. */
export interface OutputTensor {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
  readonly data: NumericArray | string[];
  /** BYTES only: each element's bytes, for outputs that are not text. */
  readonly raw?: Uint8Array[];
}

export interface EncodeOptions {
  /** The binary tensor extension for inputs and outputs (default true); false sends and asks for JSON. */
  readonly binary?: boolean;
  /** Outputs in the binary section (default: as `binary`); false keeps binary inputs with JSON outputs. */
  readonly binaryOutputs?: boolean;
  /** Outputs to return (default all). */
  readonly outputs?: readonly string[];
  /**
   * Outputs to return as their N highest classes (the classification extension): BYTES [rows, N] of
   * "<value>:<index>[:<label>]", highest first. Named outputs are returned besides `outputs`.
   */
  readonly classification?: Readonly<Record<string, number>>;
  readonly id?: string;
  readonly parameters?: Readonly<Record<string, unknown>>;
}

export interface EncodedRequest {
  readonly body: Uint8Array | string;
  readonly headers: Record<string, string>;
}

function jsonValues(datatype: Datatype, data: TensorData): unknown[] {
  if (datatype === 'BYTES') {
    return (data as BytesElements).map((element) => (typeof element === 'string' ? element : utf8(element)));
  }
  if (datatype === 'BOOL') return Array.from(data as Uint8Array, (value) => value !== 0);
  if (datatype === 'FP16') return Array.from(data as Uint16Array, fromFp16Bits);
  if (datatype === 'BF16') return Array.from(data as Uint16Array, fromBf16Bits);
  return Array.from(data as ArrayLike<number | bigint>, Number);
}

/** An OIP infer request: a JSON header plus raw tensors (Inference-Header-Content-Length), or plain JSON. */
export function encodeInferRequest(inputs: readonly InputTensor[], options: EncodeOptions = {}): EncodedRequest {
  const binary = options.binary ?? true;
  const binaryOutputs = options.binaryOutputs ?? binary;
  const parts: Uint8Array[] = [];
  const entries = inputs.map((input) => {
    const datatype = input.datatype ?? datatypeOf(input.data);
    const head = { name: input.name, datatype, shape: input.shape };
    if (!binary) return { ...head, data: jsonValues(datatype, input.data) };
    const bytes = tensorBytes(input.data);
    parts.push(bytes);
    return { ...head, parameters: { binary_data_size: bytes.byteLength } };
  });
  const parameters = { ...options.parameters, ...(binaryOutputs ? { binary_data_output: true } : {}) };
  const classes = options.classification ?? {};
  const named =
    options.outputs || Object.keys(classes).length > 0 ? [...new Set([...(options.outputs ?? []), ...Object.keys(classes)])] : undefined;
  const outputs = named?.map((name) => ({
    name,
    parameters: { binary_data: binaryOutputs, ...(classes[name] !== undefined ? { classification: classes[name] } : {}) },
  }));
  const json = JSON.stringify({
    ...(options.id !== undefined ? { id: options.id } : {}),
    inputs: entries,
    ...(outputs ? { outputs } : {}),
    ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
  });
  if (!binary) return { body: json, headers: { 'content-type': 'application/json' } };
  const header = new TextEncoder().encode(json);
  const body = new Uint8Array(header.byteLength + parts.reduce((total, part) => total + part.byteLength, 0));
  body.set(header, 0);
  let offset = header.byteLength;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.byteLength;
  }
  return { body, headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.byteLength) } };
}

interface WireOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: { binary_data_size?: number };
}

export interface DecodedResponse {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly id?: string;
  readonly parameters: Record<string, unknown>;
  readonly outputs: OutputTensor[];
}

function fromJson(datatype: Exclude<Datatype, 'BYTES'>, values: unknown[]): NumericArray {
  const out = allocate(datatype, values.length);
  const convert = datatype === 'FP16' ? toFp16Bits : datatype === 'BF16' ? toBf16Bits : undefined;
  values.forEach((value, index) => {
    if (out instanceof BigInt64Array || out instanceof BigUint64Array) out[index] = BigInt(value as number);
    else out[index] = typeof value === 'boolean' ? Number(value) : convert ? convert(value as number) : (value as number);
  });
  return out;
}

function decodeOutput(wire: WireOutput, binary: Uint8Array | undefined): OutputTensor {
  if (!isDatatype(wire.datatype)) throw new TypeError(`output "${wire.name}" has an unknown datatype ${wire.datatype}`);
  const datatype = wire.datatype;
  const head = { name: wire.name, datatype, shape: wire.shape };
  if (binary) {
    if (datatype !== 'BYTES') return { ...head, data: viewTensor(datatype, binary) };
    const raw = decodeBytes(binary);
    return { ...head, data: raw.map(utf8), raw };
  }
  const values = (wire.data ?? []).flat(Number.POSITIVE_INFINITY) as unknown[];
  if (datatype !== 'BYTES') return { ...head, data: fromJson(datatype, values) };
  const strings = values.map(String);
  return { ...head, data: strings, raw: strings.map((value) => new TextEncoder().encode(value)) };
}

/** Reads an infer response body, with or without the binary extension. */
export function decodeInferResponse(body: Uint8Array, headerLength: string | null): DecodedResponse {
  const length = headerLength === null ? body.byteLength : Number(headerLength);
  if (!Number.isSafeInteger(length) || length < 0 || length > body.byteLength)
    throw new RangeError(`bad Inference-Header-Content-Length ${headerLength}`);
  const head = JSON.parse(utf8(body.subarray(0, length))) as {
    model_name: string;
    model_version: string;
    id?: string;
    parameters?: Record<string, unknown>;
    outputs?: WireOutput[];
  };
  let offset = length;
  const outputs = (head.outputs ?? []).map((wire) => {
    const size = wire.parameters?.binary_data_size;
    if (size === undefined) return decodeOutput(wire, undefined);
    if (offset + size > body.byteLength) throw new RangeError(`output "${wire.name}" runs past the body`);
    const bytes = body.subarray(offset, offset + size);
    offset += size;
    return decodeOutput(wire, bytes);
  });
  return {
    modelName: head.model_name,
    modelVersion: head.model_version,
    ...(head.id !== undefined ? { id: head.id } : {}),
    parameters: head.parameters ?? {},
    outputs,
  };
}
