import { inverseHessianFactor } from './inverse-hessian-factor.js';

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
  if (weight.length !== k * n || scales.length !== n || hessian.length !== k * k) throw new Error(`error feedback rounding: W is ${weight.length} values for [${k}, ${n}], ${scales.length} scales, H ${hessian.length} values`);
  const factor = inverseHessianFactor(hessian, k);
  const working = Float64Array.from(weight);
  const quantized = new Int8Array(k * n);
  const inverseScales = Float64Array.from(scales, (scale) => 1 / scale);
  const error = new Float64Array(n);
  for (let row = 0; row < k; row += 1) {
    const from = row * n;
    const factorRow = row * k;
    const diagonal = factor[factorRow + row]!;
    for (let c = 0; c < n; c += 1) {
      const value = working[from + c]!;
      const level = Math.max(-127, Math.min(127, Math.round(value * inverseScales[c]!)));
      quantized[from + c] = level;
      error[c] = (value - level * scales[c]!) / diagonal;
    }
    // Later rows absorb this row's error, each in proportion to its inverse-Hessian link.
    for (let later = row + 1; later < k; later += 1) {
      const weightOfLink = factor[factorRow + later]!;
      if (weightOfLink === 0) continue;
      const to = later * n;
      for (let c = 0; c < n; c += 1) working[to + c] = working[to + c]! - weightOfLink * error[c]!;
    }
  }
  return quantized;
}

/**
 * ||X (W - Wq·s)||² / rows for inputs X [rows, k]: the output error a quantized layer adds,
 * what error feedback minimizes (for tests and reports).
 */
export function outputError(inputs: Float32Array, rows: number, weight: Float32Array, k: number, n: number, quantized: Int8Array, scales: Float32Array): number {
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
