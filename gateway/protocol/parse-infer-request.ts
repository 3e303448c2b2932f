import { DATATYPE_INFO, isDatatype, viewBytes, type Datatype } from '../../workers/protocol/datatypes.js';
import { ServingError } from '../../workers/protocol/errors.js';
import { dataElementCount, elementCount, type Tensor } from '../../workers/protocol/tensor.js';
import { MAX_PRIORITY } from '../policy/policy-config.js';
import { MAX_CLASSIFICATION } from './classification.js';
import { JsonNumbers, parseInferJson } from '../http/infer-json.js';
import { invalidJson } from '../http/json-error.js';
import { refuseSequence } from './sequence-parameters.js';
import { decodeJsonData, decodeJsonNumbers, flattenData } from './json-tensor-data.js';

export interface RequestedOutput {
  readonly name: string;
  /** Return this output in the binary section rather than as JSON numbers. */
  readonly binary: boolean;
  /** The classification extension's N (gateway/protocol/classification.ts); absent or 0: the tensor itself. */
  readonly classification?: number;
}

/** An OIP request as the protocol defines it, before it meets a model. */
export interface ParsedInferRequest {
  readonly id?: string;
  readonly inputs: readonly Tensor[];
  /** Empty: every output, each binary when `binaryByDefault`. */
  readonly outputs: readonly RequestedOutput[];
  readonly binaryByDefault: boolean;
  readonly timeoutMs?: number;
  /** Absent when the caller named none: the tenant's default applies (limits/tenant-priority.ts). */
  readonly priority?: number;
  /** `parameters.explain` as sent, unchecked: only the explain route reads it (gateway/explain/). */
  readonly explain?: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function invalid(message: string): ServingError {
  return new ServingError('invalid_request', message);
}

function parseJson(header: Buffer, numbers = false): unknown {
  if (header.length === 0) throw new ServingError('empty_body', 'the request has no body: send an inference request as JSON');
  const read = numbers ? parseInferJson(header) : undefined;
  if (read !== undefined) return read;
  try {
    return JSON.parse(header.toString('utf8'));
  } catch {
    throw invalidJson('the body', header);
  }
}

function optionalParameters(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isObject(value)) throw invalid(`${where}.parameters must be an object`);
  return value;
}

/** The longest timer Node keeps: setTimeout fires at once beyond 2^31 - 1 ms. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

function integerParameter(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ServingError('invalid_parameter', `parameter ${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * A tensor over raw little-endian bytes (the binary extension's section, or gRPC's
 * raw_input_contents), checked against its shape; BYTES elements are length-prefixed.
 */
export function tensorFromBytes(name: string, datatype: Datatype, dims: number[], bytes: Uint8Array): Tensor {
  const expected = elementCount(dims);
  const size = DATATYPE_INFO[datatype].bytes;
  if (size > 0 && bytes.byteLength !== expected * size) {
    throw new ServingError(
      'shape_data_mismatch',
      `input "${name}": shape [${dims.join(',')}] needs ${expected * size} bytes of ${datatype}, got ${bytes.byteLength}`,
    );
  }
  const data = viewBytes(datatype, bytes);
  if (size === 0) {
    const count = dataElementCount(datatype, data);
    if (count === null) throw new ServingError('invalid_binary_body', `input "${name}": BYTES elements are not length-prefixed correctly`);
    if (count !== expected)
      throw new ServingError('shape_data_mismatch', `input "${name}": shape [${dims.join(',')}] needs ${expected} elements, got ${count}`);
  }
  return { name, datatype, shape: dims, data };
}

/**
 * Parses an OIP infer body (the JSON header and, with the binary extension, the bytes after it).
 * `readNumbers` false: JSON.parse reads the whole header (the reference the tests hold infer-json.ts to).
 */
export function parseInferRequest(header: Buffer, binary: Buffer, readNumbers = true): ParsedInferRequest {
  const body = parseJson(header, readNumbers);
  if (!isObject(body)) throw invalid('the body must be a JSON object with an "inputs" array');
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) throw invalid('"inputs" must be a non-empty array');

  let binaryOffset = 0;
  const inputs = body.inputs.map((raw: unknown, index: number): Tensor => {
    if (!isObject(raw)) throw invalid(`inputs[${index}] must be an object`);
    const { name, datatype, shape } = raw;
    if (typeof name !== 'string' || name === '') throw invalid(`inputs[${index}].name must be a non-empty string`);
    if (typeof datatype !== 'string') throw invalid(`input "${name}": datatype must be a string`);
    if (!isDatatype(datatype)) throw new ServingError('unknown_datatype', `input "${name}": unknown datatype "${datatype}"`);
    if (!Array.isArray(shape) || !shape.every((dim) => Number.isSafeInteger(dim) && (dim as number) >= 0)) {
      throw invalid(`input "${name}": shape must be an array of non-negative integers`);
    }
    const dims = shape as number[];
    const expected = elementCount(dims);
    const inputParameters = optionalParameters(raw.parameters, `input "${name}"`);
    refuseSharedMemory(inputParameters, `input "${name}"`);
    const binarySize = inputParameters.binary_data_size;

    if (binarySize !== undefined) {
      if (raw.data !== undefined) throw invalid(`input "${name}": give either data or binary_data_size, not both`);
      if (typeof binarySize !== 'number' || !Number.isSafeInteger(binarySize) || binarySize < 0) {
        throw new ServingError('invalid_binary_body', `input "${name}": binary_data_size must be a non-negative integer`);
      }
      if (binaryOffset + binarySize > binary.length) {
        throw new ServingError(
          'invalid_binary_body',
          `input "${name}": binary_data_size ${binarySize} runs past the ${binary.length} bytes of binary data`,
        );
      }
      const bytes = binary.subarray(binaryOffset, binaryOffset + binarySize);
      binaryOffset += binarySize;
      return tensorFromBytes(name, datatype, dims, bytes);
    }

    const numbers = raw.data instanceof JsonNumbers ? raw.data : undefined;
    if (!numbers && !Array.isArray(raw.data)) throw invalid(`input "${name}": data must be an array (or use binary_data_size)`);
    const values = numbers ?? flattenData(raw.data as unknown[]);
    if (values.length !== expected) {
      throw new ServingError(
        'shape_data_mismatch',
        `input "${name}": shape [${dims.join(',')}] needs ${expected} elements, data has ${values.length}`,
      );
    }
    const data = numbers ? decodeJsonNumbers(name, datatype, numbers) : decodeJsonData(name, datatype, values as unknown[]);
    return { name, datatype, shape: dims, data };
  });
  if (binaryOffset !== binary.length) {
    throw new ServingError(
      'invalid_binary_body',
      `the binary_data_size values add up to ${binaryOffset} bytes but ${binary.length} bytes follow the JSON header`,
    );
  }

  return { inputs, ...parseRequestOptions(body) };
}

/**
 * Triton's `timeout` parameter (tritonclient's `timeout=`) is in microseconds, 0 for none; `timeout_ms`
 * wins when both are sent. Past a timer's range (24.8 days) it is as good as none.
 */
function tritonTimeoutMs(value: unknown): number | undefined {
  const microseconds = integerParameter(value, 'timeout (microseconds)', 0, Number.MAX_SAFE_INTEGER);
  const ms = microseconds ? Math.ceil(microseconds / 1000) : 0;
  return ms > 0 && ms <= MAX_TIMEOUT_MS ? ms : undefined;
}

/**
 * `priority` as Triton takes it (core infer_request.cc SetPriority): any non-negative integer
 * (tritonclient sends a uint64), one past the lowest level (MAX_PRIORITY) meaning the default,
 * which is the tenant's here. Switchyard's 0 is a level of its own, the first served.
 */
function requestPriority(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new ServingError('invalid_parameter', `parameter priority must be a non-negative integer (above ${MAX_PRIORITY}: the default)`);
  return value > MAX_PRIORITY ? undefined : value;
}

/** Triton's shared-memory parameters name a region registered with the server; Switchyard registers none (HTTP and gRPC). */
export function refuseSharedMemory(parameters: Readonly<Record<string, unknown>>, where: string): void {
  if (parameters.shared_memory_region !== undefined) {
    throw new ServingError(
      'not_supported',
      `${where}: shared memory is not supported: send the tensor in the request body (JSON or the binary extension)`,
    );
  }
}

/** The parts of a request besides its inputs: id, requested outputs and parameters. */
export function parseRequestOptions(body: Record<string, unknown>): Omit<ParsedInferRequest, 'inputs'> {
  if (body.id !== undefined && typeof body.id !== 'string') throw invalid('"id" must be a string');
  const parameters = optionalParameters(body.parameters, 'request');
  refuseSequence(parameters);
  if (parameters.binary_data_output !== undefined && typeof parameters.binary_data_output !== 'boolean')
    throw new ServingError('invalid_parameter', 'binary_data_output must be true or false');
  const binaryByDefault = parameters.binary_data_output === true;
  let outputs: RequestedOutput[] = [];
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) throw invalid('"outputs" must be an array');
    const named = new Set<string>();
    outputs = body.outputs.map((raw: unknown, index: number) => {
      if (!isObject(raw) || typeof raw.name !== 'string') throw invalid(`outputs[${index}] must be an object with a name`);
      // Two entries for one output would each ask for something, and only one could be answered.
      if (named.has(raw.name)) throw invalid(`output "${raw.name.slice(0, 100)}" is requested twice`);
      named.add(raw.name);
      const outputParameters = optionalParameters(raw.parameters, `output "${raw.name}"`);
      refuseSharedMemory(outputParameters, `output "${raw.name}"`);
      const binaryFlag = outputParameters.binary_data;
      if (binaryFlag !== undefined && typeof binaryFlag !== 'boolean')
        throw new ServingError('invalid_parameter', `output "${raw.name}": binary_data must be true or false`);
      const classification = integerParameter(
        outputParameters.classification,
        `classification of output "${raw.name}"`,
        0,
        MAX_CLASSIFICATION,
      );
      return { name: raw.name, binary: binaryFlag ?? binaryByDefault, ...(classification ? { classification } : {}) };
    });
  }
  const timeoutMs = integerParameter(parameters.timeout_ms, 'timeout_ms', 1, MAX_TIMEOUT_MS) ?? tritonTimeoutMs(parameters.timeout);
  const priority = requestPriority(parameters.priority);
  return {
    ...(typeof body.id === 'string' ? { id: body.id } : {}),
    outputs,
    binaryByDefault,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(priority !== undefined ? { priority } : {}),
    ...(parameters.explain !== undefined ? { explain: parameters.explain } : {}),
  };
}

/** Parses a JSON object of request options (a multipart form's `request` field). */
export function parseOptionsJson(text: string): Omit<ParsedInferRequest, 'inputs'> {
  const body = parseJson(Buffer.from(text));
  if (!isObject(body)) throw invalid('the request field must be a JSON object');
  return parseRequestOptions(body);
}
