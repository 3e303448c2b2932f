/** Symmetric int8 weights with one scale per output channel. */
export interface Int8Weights {
  readonly values: Int8Array;
  /** One per channel: real value = int8 * scale. */
  readonly scales: Float32Array;
}

/**
 * Quantizes `values` (row-major, `dims`) per channel along `axis`: each channel's
 * largest magnitude maps to 127. Per-channel scales keep small-weight channels precise,
 * which per-tensor scales would flatten.
 */
export function quantizePerChannel(values: Float32Array, dims: readonly number[], axis: number): Int8Weights {
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((product, dim) => product * dim, 1);
  const largest = new Float32Array(channels);
  for (let index = 0; index < values.length; index += 1) {
    const channel = Math.floor(index / inner) % channels;
    largest[channel] = Math.max(largest[channel]!, Math.abs(values[index]!));
  }
  const scales = largest.map((value) => (value > 0 ? value / 127 : 1));
  const quantized = new Int8Array(values.length);
  for (let index = 0; index < values.length; index += 1) {
    const channel = Math.floor(index / inner) % channels;
    quantized[index] = Math.max(-127, Math.min(127, Math.round(values[index]! / scales[channel]!)));
  }
  return { values: quantized, scales };
}

/** [rows, cols] -> [cols, rows]. */
export function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r += 1) for (let c = 0; c < cols; c += 1) out[c * rows + r] = values[r * cols + c]!;
  return out;
}
