import type { Tensor } from '../../workers/protocol/tensor.js';
import type { ModelConfig } from '../../workers/repository/model-config.js';
import { throwIfCancelled } from '../request/admit-call.js';
import type { CancelFlag } from '../request/infer-call.js';
import { callModel, type ModelCallPayer, type ModelCallServices } from '../routing/model-call.js';

/** Perturbed rows queue behind live traffic: a larger priority number runs later. */
export const EXPLAIN_PRIORITY_OFFSET = 10;
/** Batches of one explanation in flight at once: enough to fill the batcher, not to crowd the queue. */
const IN_FLIGHT = 4;

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
  readonly cancel?: CancelFlag;
}

/** What the rows cost the model: rows sent and batches (model calls) made. */
export interface ScoringTally {
  rows: number;
  calls: number;
}

/**
 * Scores `count` variants of one row of the request: `fill(i, out)` writes variant i of
 * input `input` (the others keep row `row`'s values). Variants go in batches of the model's
 * max_batch_size, each one model call (budget, breakers, batcher, ledger), at a lower
 * priority than live requests. Returns the `index` element of the output, per variant.
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
  const chunk = Math.max(1, config.max_batch_size);
  const scores = new Float64Array(count);
  const outSize = config.outputs.find((spec) => spec.name === target.output)!.shape.reduce((a, b) => a * b, 1);
  let next = 0;
  const runChunk = async (start: number): Promise<void> => {
    const n = Math.min(chunk, count - start);
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
    const context = { requestId: `${target.requestId}.explain.${start}`, now: Date.now(), plan: target.plan, random: Math.random, ...(target.traceparent !== undefined ? { traceparent: target.traceparent } : {}) };
    const outcome = await callModel(target.model, target.version, parsed, context, target.services, target.payer);
    const output = outcome.result.outputs.find((tensor) => tensor.name === target.output)!;
    for (let i = 0; i < n; i += 1) scores[start + i] = Number(output.data[i * outSize + index]);
    tally.rows += n;
    tally.calls += 1;
  };
  const lane = async (): Promise<void> => {
    while (next < count) {
      throwIfCancelled(target.cancel);
      const start = next;
      next += chunk;
      try {
        await runChunk(start);
      } catch (error) {
        next = count; // the other lanes start nothing more
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, Math.ceil(count / chunk)) }, lane));
  return scores;
}

/** Elements of one row of a tensor. */
export function rowSize(tensor: Tensor, batching: boolean): number {
  return (batching ? tensor.shape.slice(1) : tensor.shape).reduce((a, b) => a * b, 1);
}
