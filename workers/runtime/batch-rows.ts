import { concatRows, splitRows } from '../protocol/tensor-rows.js';
import type { Tensor } from '../protocol/tensor.js';
import type { BatchRun } from './runtime.js';
import { transferable } from './transfer.js';

/** A batch's requests joined row-wise: one tensor per input, in the first request's order. */
export function joinBatchInputs(batch: BatchRun): Tensor[] {
  const first = batch.requests[0];
  if (!first) throw new Error('empty batch');
  return first.inputs.map((input) =>
    concatRows(batch.requests.map((request) => request.inputs.find((tensor) => tensor.name === input.name)!)),
  );
}

/**
 * The batch's outputs cut back into each request's rows (a request's row count is its
 * first input's first dimension), with the buffers to transfer to the main thread.
 */
export function splitBatchOutputs(batch: BatchRun, outputs: readonly Tensor[]): { outputs: Tensor[][]; buffers: ArrayBuffer[] } {
  const rowCounts = batch.requests.map((request) => request.inputs[0]?.shape[0] ?? 1);
  const perRequest: Tensor[][] = batch.requests.map(() => []);
  for (const output of outputs) {
    const parts = batch.requests.length === 1 ? [output] : splitRows(output, rowCounts);
    parts.forEach((part, index) => perRequest[index]!.push(part));
  }
  const buffers: ArrayBuffer[] = [];
  const owned = perRequest.map((tensors) => {
    const result = transferable(tensors);
    buffers.push(...result.buffers);
    return result.tensors;
  });
  return { outputs: owned, buffers };
}
