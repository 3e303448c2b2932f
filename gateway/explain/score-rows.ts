import type { Tensor } from '../../workers/protocol/tensor.js';
import type { ModelConfig } from '../../workers/repository/model-config.js';
import { throwIfCancelled } from '../request/admit-call.js';
import type { LivePacer } from './yield-to-live.js';
import { callModel, type ModelCallPayer, type ModelCallServices } from '../routing/model-call.js';

/** Perturbed rows queue behind live traffic: a larger priority number runs later. */
export const EXPLAIN_PRIORITY_OFFSET = 10;
/**
 * An explanation has one batch in flight at a time, of at most this many rows (the pacer
 * sizes them by running time): a live request that arrives while it runs waits for one
 * small batch, never for a queue of them.
 */
export const EXPLAIN_BATCH_ROWS = 16;

/** The model and version that answered, and how to reach it. */
export interface ScoringTarget {
  readonly model: string;
  readonly version: string;
  readonly config: ModelConfig;
  readonly output: string;
  readonly requestId: string;
  readonly plan: string;
  readonly traceparent?: string;
  readonly priority: number;
  readonly timeoutMs?: number;
  readonly services: ModelCallServices;
  readonly payer: ModelCallPayer;
  readonly cancel?: AbortSignal;
  readonly pacer?: LivePacer;
}

/** What the rows cost the model: rows sent and batches (model calls) made. */
export interface ScoringTally {
  rows: number;
  calls: number;
}

/**
 * Scores `count` variants of one row of the request: `fill(i, out)` writes variant i of
 * input `input` (the others keep row `row`'s values). Variants go in small batches, each
 * one model call (budget, breakers, batcher, ledger), at a lower priority than live
 * requests and paced by the pacer. Returns the `index` element of the output, per variant.
 */
export async function scoreVariants(
  target: ScoringTarget,
  inputs: readonly Tensor[],
  input: string,
  row: number,
  count: number,
  fill: (index: number, out: Float32Array) => void,
  index: number,
  tally: ScoringTally,
): Promise<Float64Array> {
  const { config } = target;
  const batching = config.max_batch_size > 0;
  const chunk = Math.max(1, Math.min(config.max_batch_size, EXPLAIN_BATCH_ROWS));
  const scores = new Float64Array(count);
  const outSize = config.outputs.find((spec) => spec.name === target.output)!.shape.reduce((a, b) => a * b, 1);
  const runChunk = async (start: number, n: number): Promise<void> => {
    const tensors = inputs.map((tensor): Tensor => {
      const size = rowSize(tensor, batching);
      const data = new Float32Array(n * size);
      if (tensor.name === input) {
        for (let i = 0; i < n; i += 1) fill(start + i, data.subarray(i * size, (i + 1) * size));
      } else {
        const source = (tensor.data as Float32Array).subarray(row * size, (row + 1) * size);
        for (let i = 0; i < n; i += 1) data.set(source, i * size);
      }
      const dims = batching ? tensor.shape.slice(1) : tensor.shape;
      return { name: tensor.name, datatype: 'FP32', shape: batching ? [n, ...dims] : [...dims], data };
    });
    const parsed = {
      inputs: tensors,
      outputs: [{ name: target.output, binary: false }],
      binaryByDefault: false,
      priority: target.priority,
      ...(target.timeoutMs !== undefined ? { timeoutMs: target.timeoutMs } : {}),
    };
    const context = {
      requestId: `${target.requestId}.explain.${start}`,
      now: Date.now(),
      plan: target.plan,
      random: Math.random,
      ...(target.traceparent !== undefined ? { traceparent: target.traceparent } : {}),
    };
    const outcome = await callModel(target.model, target.version, parsed, context, target.services, target.payer);
    const output = outcome.result.outputs.find((tensor) => tensor.name === target.output)!;
    for (let i = 0; i < n; i += 1) scores[start + i] = Number(output.data[i * outSize + index]);
    tally.rows += n;
    tally.calls += 1;
  };
  for (let start = 0; start < count; ) {
    throwIfCancelled(target.cancel);
    await target.pacer?.beforeBatch();
    const n = Math.min(target.pacer?.rows(chunk) ?? chunk, count - start);
    const began = performance.now();
    await runChunk(start, n);
    start += n;
    await target.pacer?.afterBatch(performance.now() - began, n);
  }
  return scores;
}

/** Elements of one row of a tensor. */
export function rowSize(tensor: Tensor, batching: boolean): number {
  return (batching ? tensor.shape.slice(1) : tensor.shape).reduce((a, b) => a * b, 1);
}
