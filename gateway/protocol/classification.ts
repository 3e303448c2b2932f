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

/**
 * The k best of `length` elements from `offset`, best first: a min-heap of k (its root the
 * worst kept), so a row costs one comparison per element once the heap is full.
 */
function topIndices(data: TensorArray, offset: number, length: number, k: number): number[] {
  if (k === 0) return [];
  const heap: number[] = [];
  const siftDown = (start: number): void => {
    let at = start;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let worst = at;
      if (left < heap.length && above(data, offset, heap[worst]!, heap[left]!)) worst = left;
      if (right < heap.length && above(data, offset, heap[worst]!, heap[right]!)) worst = right;
      if (worst === at) return;
      [heap[at], heap[worst]] = [heap[worst]!, heap[at]!];
      at = worst;
    }
  };
  for (let index = 0; index < length; index += 1) {
    if (heap.length < k) {
      heap.push(index);
      let at = heap.length - 1;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!above(data, offset, heap[parent]!, heap[at]!)) break;
        [heap[at], heap[parent]] = [heap[parent]!, heap[at]!];
        at = parent;
      }
    } else if (above(data, offset, index, heap[0]!)) {
      heap[0] = index;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (above(data, offset, a, b) ? -1 : 1));
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
