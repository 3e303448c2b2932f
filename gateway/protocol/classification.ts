import type { Datatype, TensorArray } from '../../workers/protocol/datatypes.js';
import type { InferResult } from '../../workers/protocol/inference.js';
import { elementCount, encodeBytesElements, type Tensor } from '../../workers/protocol/tensor.js';
import type { ModelDefinition } from '../../workers/repository/load-repository.js';

/** The most classes one output may be asked for, per batch row (each is a string in the answer). */
export const MAX_CLASSIFICATION = 1_000;

/** What the classification extension ranks: Triton's numeric types (not FP16, BF16, BOOL or BYTES). */
const RANKED: ReadonlySet<Datatype> = new Set(['UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP32', 'FP64']);

export function classifiable(datatype: Datatype): boolean {
  return RANKED.has(datatype);
}

/**
 * The classification extension (Triton's and KServe's): an output asked for with
 * `parameters.classification: N` comes back as BYTES of shape [batch, N] (or [N] for a model
 * without a batch dimension) instead of its own tensor: per row its N highest elements, highest
 * first (equal values: lower index first), each "<value>:<index>" or "<value>:<index>:<label>"
 * when the model's config names a label file for that output. Values are written as Triton
 * writes them (C's %f for floats, six decimals; integers whole). N above a row's element count
 * gives them all. Applied to the answer only: the response cache and cascade policies see the
 * model's own tensors.
 */
export function classifyOutputs(
  result: InferResult,
  requested: readonly { readonly name: string; readonly classification?: number }[],
  definition: ModelDefinition,
): InferResult {
  if (!requested.some((output) => (output.classification ?? 0) > 0)) return result;
  const batching = definition.config.max_batch_size > 0;
  const outputs = result.outputs.map((tensor) => {
    const count = requested.find((output) => output.name === tensor.name)?.classification ?? 0;
    return count > 0 ? classify(tensor, count, batching, definition.labels?.[tensor.name]) : tensor;
  });
  return { ...result, outputs };
}

function classify(tensor: Tensor, count: number, batching: boolean, labels: readonly string[] | undefined): Tensor {
  const rows = batching && tensor.shape.length > 0 ? tensor.shape[0]! : 0;
  const perRow = elementCount(batching && tensor.shape.length > 0 ? tensor.shape.slice(1) : tensor.shape);
  const k = Math.min(count, perRow);
  const float = tensor.datatype === 'FP32' || tensor.datatype === 'FP64';
  const encoder = new TextEncoder();
  const elements: Uint8Array[] = [];
  for (let row = 0; row < Math.max(1, rows); row += 1) {
    for (const index of topIndices(tensor.data, row * perRow, perRow, k)) {
      const label = labels?.[index];
      const text = `${formatValue(tensor.data[row * perRow + index]!, float)}:${index}${label !== undefined ? `:${label}` : ''}`;
      elements.push(encoder.encode(text));
    }
  }
  return { name: tensor.name, datatype: 'BYTES', shape: rows > 0 ? [rows, k] : [k], data: encodeBytesElements(elements) };
}

/** `a` ranks above `b`: larger, or equal and earlier; NaN below everything. */
function above(data: TensorArray, offset: number, a: number, b: number): boolean {
  const x = data[offset + a]!;
  const y = data[offset + b]!;
  if (Number.isNaN(x)) return false;
  if (Number.isNaN(y)) return true;
  return x > y || (x === y && a < b);
}

/** The k best of `length` elements from `offset`, best first. */
function topIndices(data: TensorArray, offset: number, length: number, k: number): number[] {
  if (k === 0) return [];
  const chosen =
    data instanceof BigInt64Array || data instanceof BigUint64Array ? heapTop(data, offset, length, k) : selectTop(data, offset, length, k);
  return chosen.sort((a, b) => (above(data, offset, a, b) ? -1 : 1));
}

/** 64-bit integers, which a double does not hold exactly: a min-heap of the k best so far, its root the worst kept. */
function heapTop(data: BigInt64Array | BigUint64Array, offset: number, length: number, k: number): number[] {
  const heap: number[] = [];
  const swap = (a: number, b: number): void => {
    [heap[a], heap[b]] = [heap[b]!, heap[a]!];
  };
  for (let index = 0; index < length; index += 1) {
    if (heap.length < k) {
      heap.push(index);
      for (let at = heap.length - 1; at > 0 && above(data, offset, heap[(at - 1) >> 1]!, heap[at]!); at = (at - 1) >> 1)
        swap(at, (at - 1) >> 1);
      continue;
    }
    // Equal values never replace the root: a later index ranks below it.
    if (!(data[offset + index]! > data[offset + heap[0]!]!)) continue;
    heap[0] = index;
    for (let at = 0; ; ) {
      const left = 2 * at + 1;
      let worst = left < k && above(data, offset, heap[at]!, heap[left]!) ? left : at;
      if (left + 1 < k && above(data, offset, heap[worst]!, heap[left + 1]!)) worst = left + 1;
      if (worst === at) break;
      swap(at, worst);
      at = worst;
    }
  }
  return heap;
}

/**
 * Types a double holds exactly: the k-th largest value found by quickselect on a copy (random
 * pivots, three-way partitions for runs of equal values: linear time expected whatever order a
 * model's output comes in; a heap took over ten times as long on ascending values), then the elements
 * above it and, in index order, enough equal to it.
 */
function selectTop(data: Exclude<TensorArray, BigInt64Array | BigUint64Array>, offset: number, length: number, k: number): number[] {
  // NaN ranks last: it is selected as -Infinity, and taken after every real -Infinity.
  const keys = new Float64Array(length);
  for (let index = 0; index < length; index += 1) {
    const value = data[offset + index]!;
    keys[index] = Number.isNaN(value) ? Number.NEGATIVE_INFINITY : value;
  }
  const threshold = kthLargest(keys, k);
  const chosen: number[] = [];
  for (let index = 0; index < length; index += 1) if (data[offset + index]! > threshold) chosen.push(index);
  for (let index = 0; index < length && chosen.length < k; index += 1) if (data[offset + index] === threshold) chosen.push(index);
  for (let index = 0; index < length && chosen.length < k; index += 1) if (Number.isNaN(data[offset + index])) chosen.push(index);
  return chosen;
}

/** The k-th largest of `keys` (reordered in place). */
function kthLargest(keys: Float64Array, k: number): number {
  const target = keys.length - k;
  let low = 0;
  let high = keys.length - 1;
  while (low < high) {
    const pivot = keys[low + Math.floor(Math.random() * (high - low + 1))]!;
    let below = low;
    let scan = low;
    let over = high;
    while (scan <= over) {
      const key = keys[scan]!;
      if (key < pivot) {
        keys[scan] = keys[below]!;
        keys[below] = key;
        below += 1;
        scan += 1;
      } else if (key > pivot) {
        keys[scan] = keys[over]!;
        keys[over] = key;
        over -= 1;
      } else scan += 1;
    }
    if (target < below) high = below - 1;
    else if (target > over) low = over + 1;
    else return pivot;
  }
  return keys[target]!;
}

/** C's %f for floats (what Triton's std::to_string writes), integers in full. */
function formatValue(value: number | bigint, float: boolean): string {
  if (typeof value === 'bigint' || !float) return String(value);
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  // toFixed turns to exponents from 1e21; %f never does.
  const fixed = Math.abs(value) >= 1e21 ? `${BigInt(value)}.000000` : value.toFixed(6);
  return Object.is(value, -0) ? `-${fixed}` : fixed;
}
