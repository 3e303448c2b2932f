import { inverseHessianFactor } from './inverse-hessian-factor.js';
import { WEIGHT_LIMIT } from './int8-weights.js';

/**
 * Error-feedback rounding (the Optimal Brain Quantization / GPTQ idea) for a MatMul
 * weight W [k, n] (row-major; row = input, column = output) with per-column scales fixed
 * beforehand. Rounding every weight to its nearest level ignores that inputs are
 * correlated: the error one row leaves can be largely cancelled by nudging the rows not
 * yet rounded. Rows are rounded in order; each row's error, weighted by the layer's
 * inverse Hessian (H = 2 XᵀX / n over calibration inputs X), is spread over the rows
 * after it, which minimizes the growth of ||X (W - Wq)||² one row at a time.
 *
 * Pure: W, scales and H are not modified. With H = identity it is round-to-nearest.
 */
export function errorFeedbackRounding(weight: Float32Array, k: number, n: number, scales: Float32Array, hessian: Float64Array): Int8Array {
  if (weight.length !== k * n || scales.length !== n || hessian.length !== k * k)
    throw new Error(
      `error feedback rounding: W is ${weight.length} values for [${k}, ${n}], ${scales.length} scales, H ${hessian.length} values`,
    );
  const factor = inverseHessianFactor(hessian, k);
  const working = Float64Array.from(weight);
  const quantized = new Int8Array(k * n);
  const inverseScales = Float64Array.from(scales, (scale) => 1 / scale);
  // Lazy batch updates (GPTQ): errors of a block of rows reach the rows past the block in
  // one pass per later row, while that row sits in cache; inside the block, right away.
  const errors = new Float64Array(BLOCK_ROWS * n);
  for (let blockStart = 0; blockStart < k; blockStart += BLOCK_ROWS) {
    const blockEnd = Math.min(k, blockStart + BLOCK_ROWS);
    for (let row = blockStart; row < blockEnd; row += 1) {
      const from = row * n;
      const errorFrom = (row - blockStart) * n;
      const diagonal = factor[row * k + row]!;
      for (let c = 0; c < n; c += 1) {
        const value = working[from + c]!;
        const level = Math.max(-WEIGHT_LIMIT, Math.min(WEIGHT_LIMIT, Math.round(value * inverseScales[c]!)));
        quantized[from + c] = level;
        errors[errorFrom + c] = (value - level * scales[c]!) / diagonal;
      }
      for (let later = row + 1; later < blockEnd; later += 1)
        subtractScaled(working, later * n, factor[row * k + later]!, errors, errorFrom, n);
    }
    for (let later = blockEnd; later < k; later += 1) {
      const to = later * n;
      let row = blockStart;
      // Four error rows per pass: a quarter of the loads and stores of the target row.
      for (; row + 4 <= blockEnd; row += 4) {
        const [l0, l1, l2, l3] = [
          factor[row * k + later]!,
          factor[(row + 1) * k + later]!,
          factor[(row + 2) * k + later]!,
          factor[(row + 3) * k + later]!,
        ];
        const e0 = (row - blockStart) * n;
        const [e1, e2, e3] = [e0 + n, e0 + 2 * n, e0 + 3 * n];
        for (let c = 0; c < n; c += 1)
          working[to + c] = working[to + c]! - (l0 * errors[e0 + c]! + l1 * errors[e1 + c]! + l2 * errors[e2 + c]! + l3 * errors[e3 + c]!);
      }
      for (; row < blockEnd; row += 1) subtractScaled(working, to, factor[row * k + later]!, errors, (row - blockStart) * n, n);
    }
  }
  return quantized;
}

/** Rows rounded before their errors are passed on to the rows after them. */
const BLOCK_ROWS = 32;

/** target[to..to+n) -= link * source[from..from+n): how far one row's error moves another row. */
function subtractScaled(target: Float64Array, to: number, link: number, source: Float64Array, from: number, n: number): void {
  if (link === 0) return;
  for (let c = 0; c < n; c += 1) target[to + c] = target[to + c]! - link * source[from + c]!;
}

/**
 * ||X (W - Wq·s)||² / rows for inputs X [rows, k]: the output error a quantized layer adds,
 * what error feedback minimizes (for tests and reports).
 */
export function outputError(
  inputs: Float32Array,
  rows: number,
  weight: Float32Array,
  k: number,
  n: number,
  quantized: Int8Array,
  scales: Float32Array,
): number {
  const difference = new Float64Array(k * n);
  for (let i = 0; i < k * n; i += 1) difference[i] = weight[i]! - quantized[i]! * scales[i % n]!;
  const output = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < rows; r += 1) {
    output.fill(0);
    for (let i = 0; i < k; i += 1) {
      const x = inputs[r * k + i]!;
      if (x === 0) continue;
      for (let c = 0; c < n; c += 1) output[c] = output[c]! + x * difference[i * n + c]!;
    }
    for (let c = 0; c < n; c += 1) total += output[c]! * output[c]!;
  }
  return total / rows;
}
