import { performance } from 'node:perf_hooks';
import type { CurvePoint } from '../batching/batch-cap.js';
import { allocate, DATATYPE_INFO } from '../protocol/datatypes.js';
import { elementCount, encodeBytesElements, type Tensor } from '../protocol/tensor.js';
import type { ModelConfig } from '../repository/model-config.js';
import type { ModelInstance } from '../runtime/runtime.js';

/** Timed runs per size after the first (untimed) one; the fastest counts, so a busy machine inflates less. */
const TIMED_RUNS = 3;

/**
 * Batch sizes (rows) to warm up at: the configured ones, else every preferred size plus 1 and
 * the max (the serving settings', which may be tuned).
 */
export function warmupBatchSizes(
  config: ModelConfig,
  batching?: { maxBatchSize: number; preferredBatchSizes: readonly number[] },
): number[] {
  if (config.max_batch_size === 0) return [1];
  const max = batching?.maxBatchSize ?? config.max_batch_size;
  const sizes = config.warmup.batch_sizes ?? [1, ...(batching?.preferredBatchSizes ?? config.dynamic_batching.preferred_batch_sizes), max];
  return [...new Set(sizes)].sort((a, b) => a - b);
}

/**
 * Runs `instance` once at each size; with `measure`, also times each size (the time per row
 * at each is the curve the batch cap comes from). Wall time on the calling thread: what a
 * batch really costs, thread hop and transfers included. One size alone needs no comparison,
 * so it is timed on its only run.
 */
export async function warmUp(
  instance: ModelInstance,
  config: ModelConfig,
  sizes: readonly number[],
  measure: boolean,
): Promise<CurvePoint[]> {
  const outputs = config.outputs.map((output) => output.name);
  const curve: CurvePoint[] = [];
  const timedRuns = measure && sizes.length > 1 ? TIMED_RUNS : 0;
  for (const rows of sizes) {
    let fastest = Number.POSITIVE_INFINITY;
    for (let run = 0; run <= timedRuns; run += 1) {
      const inputs = warmupInputs(config, rows); // built anew each run: running transfers (detaches) its buffers
      const started = performance.now();
      await instance.run({ requests: [{ inputs }], outputs });
      if (run > 0 || timedRuns === 0) fastest = Math.min(fastest, performance.now() - started);
    }
    if (measure) curve.push({ rows, ms: fastest });
  }
  return curve;
}

/** Inputs of `rows` rows filled with small pseudo-random values (zeros hide unwritten memory bugs). */
export function warmupInputs(config: ModelConfig, rows: number): Tensor[] {
  return config.inputs.map((spec) => {
    const concrete = [...(config.warmup.dims[spec.name] ?? [])];
    const dims = spec.shape.map((dim) => (dim === -1 ? (concrete.shift() ?? 1) : dim));
    const shape = config.max_batch_size === 0 ? dims : [rows, ...dims];
    const count = elementCount(shape);
    if (spec.datatype === 'BYTES') {
      return { name: spec.name, datatype: spec.datatype, shape, data: encodeBytesElements(new Array(count).fill(new Uint8Array(0))) };
    }
    const data = allocate(spec.datatype, count);
    const info = DATATYPE_INFO[spec.datatype];
    for (let i = 0; i < count; i += 1) {
      const value = (i * 7919) % 13;
      if (info.bigint) (data as BigInt64Array)[i] = BigInt(value);
      else if (spec.datatype === 'BOOL') (data as Uint8Array)[i] = value & 1;
      else if (spec.datatype === 'FP32' || spec.datatype === 'FP64') (data as Float32Array)[i] = value / 13;
      else if (spec.datatype === 'FP16')
        (data as Uint16Array)[i] = 0x3c00; // 1.0
      else if (spec.datatype === 'BF16')
        (data as Uint16Array)[i] = 0x3f80; // 1.0
      else (data as Uint8Array)[i] = value;
    }
    return { name: spec.name, datatype: spec.datatype, shape, data };
  });
}
