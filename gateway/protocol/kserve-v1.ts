import { DATATYPE_INFO } from '../../workers/protocol/datatypes.js';
import { ServingError } from '../../workers/protocol/errors.js';
import { decodeBytesElements, elementCount, encodeBytesElements, type Tensor } from '../../workers/protocol/tensor.js';
import type { ModelDefinition } from '../../workers/repository/load-repository.js';
import { parseJsonExact } from '../http/infer-json.js';
import { invalidJson } from '../http/json-error.js';
import { base64Problem } from './base64.js';
import { stringifyJson } from '../http/exact-json.js';
import { decodeJsonData, encodeJsonData, MAX_DATA_DEPTH, refuseLargeJsonOutputs } from './json-tensor-data.js';
import type { ParsedInferRequest } from './parse-infer-request.js';

/**
 * KServe's V1 data plane (TensorFlow Serving's REST predict API): `{"instances": [row, ...]}` or
 * `{"inputs": columns}` in, `{"predictions": [row, ...]}` out. A row is the model's one input's
 * value for one batch row, or an object naming each input; a BYTES value is a string or
 * `{"b64": "..."}`. The tensors it becomes go through the same request pipeline as OIP's.
 */

/** The route patterns of V1 predict calls (`:target` is `<model>:predict` or `<version>:predict`): the audit log and the console count them as inference. */
export const V1_PREDICT_ROUTES = ['/v1/models/:target', '/v1/models/:model/versions/:target'] as const;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
/** `{"b64": "..."}` is one binary value, not an object naming inputs. */
const isBinaryValue = (value: unknown): value is { b64: unknown } => isObject(value) && Object.keys(value).length === 1 && 'b64' in value;
const isNamed = (value: unknown): value is Record<string, unknown> => isObject(value) && !isBinaryValue(value);

const invalid = (message: string): ServingError => new ServingError('invalid_request', message);

/**
 * The shape of a nested list whose lists at each depth all have one length, and its leaves in
 * row-major order; level by level, so deep nesting costs no call stack.
 */
function rectangular(value: unknown, where: string): { shape: number[]; leaves: unknown[] } {
  const shape: number[] = [];
  let level: unknown[] = [value];
  while (level.length > 0 && Array.isArray(level[0])) {
    if (shape.length >= MAX_DATA_DEPTH) throw invalid(`${where} is nested deeper than ${MAX_DATA_DEPTH} levels`);
    const length = (level[0] as unknown[]).length;
    const next: unknown[] = [];
    for (const item of level) {
      if (!Array.isArray(item) || item.length !== length)
        throw invalid(`${where} is not rectangular: its lists at depth ${shape.length + 1} differ`);
      for (const element of item) next.push(element);
    }
    shape.push(length);
    level = next;
  }
  if (level.some(Array.isArray)) throw invalid(`${where} is not rectangular: it mixes lists and values at one depth`);
  return { shape, leaves: level };
}

function bytesOf(value: unknown, input: string, index: number): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (isBinaryValue(value) && typeof value.b64 === 'string') {
    const problem = base64Problem(value.b64);
    if (problem !== undefined)
      throw new ServingError('datatype_mismatch', `input "${input}": element ${index}'s "b64" is not valid base64: ${problem}`);
    return Buffer.from(value.b64, 'base64');
  }
  throw new ServingError('datatype_mismatch', `input "${input}": element ${index} is not a string or {"b64": ...} for datatype BYTES`);
}

function tensorOf(
  name: string,
  datatype: ModelDefinition['config']['inputs'][number]['datatype'],
  shape: number[],
  leaves: unknown[],
): Tensor {
  const data =
    datatype === 'BYTES'
      ? encodeBytesElements(leaves.map((value, index) => bytesOf(value, name, index)))
      : decodeJsonData(name, datatype, leaves);
  return { name, datatype, shape, data };
}

/** Each input's value per row, from `instances`. */
function fromInstances(instances: unknown, definition: V1Model): Tensor[] {
  if (!Array.isArray(instances) || instances.length === 0) throw invalid('"instances" must be a non-empty list of rows');
  const inputs = definition.config.inputs;
  const named = instances.filter(isNamed).length;
  if (named !== 0 && named !== instances.length) throw invalid('"instances" mixes objects naming inputs with plain values');
  if (named === 0 && inputs.length !== 1) {
    throw invalid(
      `model "${definition.name}" has ${inputs.length} inputs: each instance is an object naming them (${inputs.map((input) => input.name).join(', ')})`,
    );
  }
  if (named > 0) {
    const known = new Set(inputs.map((input) => input.name));
    for (const row of instances as Record<string, unknown>[]) {
      const unknown = Object.keys(row).find((key) => !known.has(key));
      if (unknown !== undefined) throw new ServingError('unknown_input', `model "${definition.name}" has no input "${unknown}"`);
    }
  }
  const batched = definition.config.max_batch_size > 0;
  if (!batched && instances.length !== 1) throw invalid(`model "${definition.name}" takes no batch: send one instance`);
  return inputs
    .filter((input) => named === 0 || instances.some((row) => Object.hasOwn(row as object, input.name)))
    .map((input) => {
      const rows = instances.map((row, index) => {
        const value =
          named === 0 ? row : Object.hasOwn(row as object, input.name) ? (row as Record<string, unknown>)[input.name] : undefined;
        if (value === undefined) throw invalid(`instance ${index} has no value for input "${input.name}"`);
        return rectangular(value, `instance ${index}'s "${input.name}"`);
      });
      const rowShape = rows[0]!.shape;
      if (rows.some((row) => row.shape.join(',') !== rowShape.join(',')))
        throw invalid(`the instances' "${input.name}" values differ in shape`);
      const leaves = rows.length === 1 ? rows[0]!.leaves : rows.flatMap((row) => row.leaves);
      return tensorOf(input.name, input.datatype, batched ? [rows.length, ...rowShape] : rowShape, leaves);
    });
}

/** Whole tensors (batch dimension first, for a model with one), from `inputs`. */
function fromColumns(columns: unknown, definition: V1Model): Tensor[] {
  const inputs = definition.config.inputs;
  const values: Record<string, unknown> = isNamed(columns) ? columns : inputs.length === 1 ? { [inputs[0]!.name]: columns } : {};
  if (!isNamed(columns) && inputs.length !== 1) {
    throw invalid(`model "${definition.name}" has ${inputs.length} inputs: "inputs" is an object naming them`);
  }
  return Object.entries(values).map(([name, value]) => {
    const input = inputs.find((candidate) => candidate.name === name);
    if (!input) throw new ServingError('unknown_input', `model "${definition.name}" has no input "${name}"`);
    const { shape, leaves } = rectangular(value, `input "${name}"`);
    return tensorOf(name, input.datatype, shape, leaves);
  });
}

/** What reading a V1 body needs of its model (all of it can go to a JSON thread). */
export interface V1Model {
  readonly name: string;
  readonly config: Pick<ModelDefinition['config'], 'inputs' | 'max_batch_size'>;
}

/** A V1 predict body as the request pipeline takes it (every output, as JSON). */
export function parseV1Request(body: Buffer, definition: V1Model): ParsedInferRequest {
  // INT64 and UINT64 values are read from their text: JSON.parse rounds them past 2^53.
  let json = definition.config.inputs.some((input) => DATATYPE_INFO[input.datatype].bigint) ? parseJsonExact(body) : undefined;
  if (json === undefined) {
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw invalidJson('the body', body);
    }
  }
  if (!isObject(json)) throw invalid('a predict body is a JSON object with "instances" (a list of rows) or "inputs" (columns)');
  if ((json.instances === undefined) === (json.inputs === undefined))
    throw invalid('send "instances" (a list of rows) or "inputs" (columns), one of them');
  const inputs = json.instances !== undefined ? fromInstances(json.instances, definition) : fromColumns(json.inputs, definition);
  return { inputs, outputs: [], binaryByDefault: false };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** An output's values as JSON: BYTES as text, or `{"b64": ...}` where it is not UTF-8. */
function jsonValues(tensor: Tensor): unknown[] {
  if (tensor.datatype !== 'BYTES') return encodeJsonData(tensor.datatype, tensor.data);
  return (decodeBytesElements(tensor.data as Uint8Array) ?? []).map((bytes) => {
    try {
      return strictUtf8.decode(bytes);
    } catch {
      return { b64: Buffer.from(bytes).toString('base64') };
    }
  });
}

/** Flat row-major values as nested lists of `shape` (a scalar for rank 0). */
function nest(values: readonly unknown[], shape: readonly number[]): unknown {
  if (shape.length === 0) return values[0];
  if (shape.length === 1) return values.slice();
  const size = elementCount(shape.slice(1));
  return Array.from({ length: shape[0]! }, (_, index) => nest(values.slice(index * size, (index + 1) * size), shape.slice(1)));
}

/**
 * `{"predictions": [...]}`: a row per batch row (one for a model without a batch dimension), each the
 * one output's value or an object naming every output.
 */
export function encodeV1Predictions(outputs: readonly Tensor[], batched: boolean): string {
  refuseLargeJsonOutputs(outputs, 'V1 answers are JSON only; call the OIP route (/v2/models/{model}/infer) with binary outputs');
  const perOutput = outputs.map((tensor) => {
    const values = jsonValues(tensor);
    if (!batched || tensor.shape.length === 0) return { name: tensor.name, rows: [nest(values, tensor.shape)] };
    const [count = 0, ...rest] = tensor.shape;
    const size = elementCount(rest);
    return { name: tensor.name, rows: Array.from({ length: count }, (_, row) => nest(values.slice(row * size, (row + 1) * size), rest)) };
  });
  const count = Math.max(0, ...perOutput.map((output) => output.rows.length));
  const predictions =
    perOutput.length === 1
      ? perOutput[0]!.rows
      : Array.from({ length: count }, (_, row) => Object.fromEntries(perOutput.map((output) => [output.name, output.rows[row]])));
  return stringifyJson({ predictions });
}
