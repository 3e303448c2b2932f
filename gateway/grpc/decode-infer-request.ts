import { createHash } from 'node:crypto';
import { allocate, isDatatype, type Datatype, type TensorArray } from '../../workers/protocol/datatypes.js';
import { ServingError } from '../../workers/protocol/errors.js';
import { elementCount, encodeBytesElements, type Tensor } from '../../workers/protocol/tensor.js';
import { decodeJsonData } from '../protocol/json-tensor-data.js';
import { parseRequestOptions, refuseSharedMemory, tensorFromBytes, type ParsedInferRequest } from '../protocol/parse-infer-request.js';
import type { ReadBody } from '../protocol/read-infer-body.js';
import { parameterValues, type GrpcParameters } from './infer-parameters.js';
import { BytesLayout } from './bytes-layout.js';

/** ModelInferRequest as @grpc/proto-loader hands it over (64-bit integers as strings, bytes as Buffers). */
export interface GrpcInferRequest {
  readonly model_name?: string;
  readonly model_version?: string;
  readonly id?: string;
  readonly parameters?: GrpcParameters;
  readonly inputs?: readonly GrpcInputTensor[];
  readonly outputs?: readonly { readonly name?: string; readonly parameters?: GrpcParameters }[];
  readonly raw_input_contents?: readonly Buffer[];
}

/** Typed contents by field; bytes_contents may come already laid out (the lean reader's BytesLayout). */
export type GrpcInputContents = Readonly<Record<string, readonly unknown[] | BytesLayout | undefined>>;

interface GrpcInputTensor {
  readonly name?: string;
  readonly datatype?: string;
  readonly shape?: readonly string[];
  readonly parameters?: GrpcParameters;
  readonly contents?: GrpcInputContents;
}

/** Which typed `contents` field holds each datatype (none for FP16 and BF16: raw only, as in Triton). */
const CONTENTS_FIELD: Readonly<Partial<Record<Datatype, string>>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

const invalid = (message: string): ServingError => new ServingError('invalid_request', message);

function dimsOf(name: string, shape: readonly string[] | undefined): number[] {
  return (shape ?? []).map((dim) => {
    const value = Number(dim);
    if (!Number.isSafeInteger(value) || value < 0) throw invalid(`input "${name}": shape must hold non-negative integers`);
    return value;
  });
}

function typedData(name: string, datatype: Datatype, expected: number, contents: GrpcInputContents): TensorArray {
  const field = CONTENTS_FIELD[datatype];
  if (field === undefined) throw invalid(`input "${name}": ${datatype} has no typed contents; send it in raw_input_contents`);
  const present = Object.entries(contents).filter(([, values]) => values !== undefined && values.length > 0);
  if (present.some(([key]) => key !== field)) {
    throw new ServingError(
      'datatype_mismatch',
      `input "${name}": datatype ${datatype} takes contents.${field}, got ${present.map(([key]) => key).join(', ')}`,
    );
  }
  const values = contents[field] ?? [];
  if (values.length !== expected) {
    throw new ServingError(
      'shape_data_mismatch',
      `input "${name}": shape needs ${expected} elements, contents.${field} has ${values.length}`,
    );
  }
  if (values instanceof BytesLayout) return values.data();
  if (datatype === 'BYTES') return encodeBytesElements(values as Buffer[]);
  if (datatype === 'INT64' || datatype === 'UINT64') {
    const out = allocate(datatype, expected) as BigInt64Array | BigUint64Array;
    values.forEach((value, index) => (out[index] = BigInt(value as string)));
    return out;
  }
  // Range checks (an int_contents value for INT8, say) are the JSON decoder's.
  return decodeJsonData(name, datatype, values);
}

function decodeInput(input: GrpcInputTensor, index: number, raw: Buffer | undefined): Tensor {
  const name = input.name ?? '';
  if (name === '') throw invalid(`inputs[${index}].name must be a non-empty string`);
  const datatype = input.datatype ?? '';
  if (!isDatatype(datatype)) throw new ServingError('unknown_datatype', `input "${name}": unknown datatype "${datatype}"`);
  const dims = dimsOf(name, input.shape);
  if (raw !== undefined) return tensorFromBytes(name, datatype, dims, raw);
  return { name, datatype, shape: dims, data: typedData(name, datatype, elementCount(dims), input.contents ?? {}) };
}

/**
 * A ModelInferRequest to the same ParsedInferRequest the HTTP codec makes: tensors from
 * raw_input_contents (one per input, in order; then no input may carry typed contents) or
 * from typed contents, none from shared memory (refused as HTTP refuses it); id, outputs and parameters through the HTTP codec's own checks.
 */
export function decodeInferRequest(request: GrpcInferRequest, fingerprintOf: () => Buffer): ReadBody {
  const inputs = request.inputs ?? [];
  if (inputs.length === 0) throw invalid('"inputs" must be a non-empty array');
  // Before the contents are counted: an input in shared memory has none here.
  for (const input of inputs) if (input.parameters) refuseSharedMemory(input.parameters, `input "${input.name ?? ''}"`);
  const raw = request.raw_input_contents ?? [];
  if (raw.length > 0) {
    if (raw.length !== inputs.length) throw invalid(`raw_input_contents holds ${raw.length} tensors for ${inputs.length} inputs`);
    const typed = inputs.find((input) => Object.values(input.contents ?? {}).some((values) => values !== undefined && values.length > 0));
    if (typed) throw invalid(`input "${typed.name ?? ''}": give typed contents or raw_input_contents, not both`);
  }
  const tensors = inputs.map((input, index) => decodeInput(input, index, raw[index]));
  // Triton's stream flag (tritonclient's enable_empty_final_response): a bool or nothing, as Triton checks it.
  const emptyFinal = request.parameters?.triton_enable_empty_final_response;
  if (emptyFinal && emptyFinal.parameter_choice !== 'bool_param') {
    throw new ServingError(
      'invalid_parameter',
      "invalid value type for 'triton_enable_empty_final_response' parameter, expected bool_param",
    );
  }
  const parameters = parameterValues(request.parameters);
  const options = parseRequestOptions({
    ...(request.id ? { id: request.id } : {}),
    parameters,
    ...(request.outputs && request.outputs.length > 0
      ? { outputs: request.outputs.map((output) => ({ name: output.name ?? '', parameters: parameterValues(output.parameters) })) }
      : {}),
  });
  const parsed: ParsedInferRequest = { ...options, inputs: tensors };
  return { parsed, fingerprint: () => createHash('sha256').update('grpc\u0000').update(fingerprintOf()).digest('hex') };
}

/** The request as protobufjs encodes it: laid-out bytes_contents back as element lists (the request itself when it has none). */
export function withElementLists(request: GrpcInferRequest): GrpcInferRequest {
  if (!request.inputs?.some((input) => input.contents?.bytes_contents instanceof BytesLayout)) return request;
  return {
    ...request,
    inputs: request.inputs.map((input) => {
      const layout = input.contents?.bytes_contents;
      if (!(layout instanceof BytesLayout)) return input;
      return { ...input, contents: { ...input.contents, bytes_contents: layout.elements() } };
    }),
  };
}
