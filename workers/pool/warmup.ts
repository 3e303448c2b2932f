import { allocate, DATATYPE_INFO } from '../protocol/datatypes.js';
import { elementCount, encodeBytesElements, type Tensor } from '../protocol/tensor.js';
import type { ModelConfig } from '../repository/model-config.js';

/** Batch sizes (rows) to warm up at: the configured ones, else every preferred size plus 1 and the max. */
export function warmupBatchSizes(config: ModelConfig): number[] {
  if (config.max_batch_size === 0) return [1];
  const sizes = config.warmup.batch_sizes ?? [1, ...config.dynamic_batching.preferred_batch_sizes, config.max_batch_size];
  return [...new Set(sizes)].sort((a, b) => a - b);
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
      else if (spec.datatype === 'FP16') (data as Uint16Array)[i] = 0x3c00; // 1.0
      else if (spec.datatype === 'BF16') (data as Uint16Array)[i] = 0x3f80; // 1.0
      else (data as Uint8Array)[i] = value;
    }
    return { name: spec.name, datatype: spec.datatype, shape, data };
  });
}
