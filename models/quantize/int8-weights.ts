/**
 * The largest weight level. onnxruntime's x86 int8 kernels without VNNI (AVX2, AVX-512 before
 * VNNI) multiply uint8 activations by int8 weights with vpmaddubsw, which adds each pair of
 * products into a saturating int16: 255 x 127 twice overflows it and the result is silently
 * wrong (measured on an AVX2-only EPYC: the demo MLP's top-1 agreement 99.16 % -> 96.46 %).
 * 2 x 255 x 64 = 32,640 fits, so weights use [-64, 64] (7 bits, onnxruntime's reduce_range):
 * a model quantized on one machine is served on others, and every one of them computes the same sums.
 */
export const WEIGHT_LIMIT = 64;

/** Symmetric int8 weights with one scale per output channel, levels within ±`WEIGHT_LIMIT`. */
export interface Int8Weights {
  readonly values: Int8Array;
  /** One per channel: real value = int8 * scale. */
  readonly scales: Float32Array;
}

/**
 * Quantizes `values` (row-major, `dims`) per channel along `axis`, each channel with its
 * own scale: per-channel scales keep small-weight channels precise, which one scale for
 * the whole tensor would flatten.
 */
export function quantizePerChannel(values: Float32Array, dims: readonly number[], axis: number): Int8Weights {
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((product, dim) => product * dim, 1);
  const outer = values.length / (channels * inner);
  // Gather each channel's values once: the scale search reads them many times.
  const perChannel = Array.from({ length: channels }, () => new Float32Array(outer * inner));
  for (let o = 0; o < outer; o += 1) {
    for (let c = 0; c < channels; c += 1) {
      const from = (o * channels + c) * inner;
      perChannel[c]!.set(values.subarray(from, from + inner), o * inner);
    }
  }
  const scales = Float32Array.from(perChannel, bestScale);
  const quantized = new Int8Array(values.length);
  for (let index = 0; index < values.length; index += 1) {
    const channel = Math.floor(index / inner) % channels;
    quantized[index] = Math.max(-WEIGHT_LIMIT, Math.min(WEIGHT_LIMIT, Math.round(values[index]! / scales[channel]!)));
  }
  return { values: quantized, scales };
}

/**
 * The scale with the least squared error for one channel. Mapping the largest magnitude
 * to the top level wastes levels on rare outliers; clipping a little (searched from 100 %
 * down to 50 % of the largest) trades a few clipped weights for finer steps everywhere else.
 */
function bestScale(channel: Float32Array): number {
  let largest = 0;
  for (const value of channel) largest = Math.max(largest, Math.abs(value));
  if (largest === 0) return 1;
  let best = largest / WEIGHT_LIMIT;
  let bestError = Number.POSITIVE_INFINITY;
  for (let step = 0; step <= 25; step += 1) {
    const scale = (largest * (1 - step * 0.02)) / WEIGHT_LIMIT;
    let error = 0;
    for (const value of channel) {
      const q = Math.max(-WEIGHT_LIMIT, Math.min(WEIGHT_LIMIT, Math.round(value / scale)));
      const diff = value - q * scale;
      error += diff * diff;
    }
    if (error < bestError) {
      bestError = error;
      best = scale;
    }
  }
  return best;
}

/** [rows, cols] -> [cols, rows]. */
export function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r += 1) for (let c = 0; c < cols; c += 1) out[c * rows + r] = values[r * cols + c]!;
  return out;
}
