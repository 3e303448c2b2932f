/** Rows of one layer's input, as the fp32 model produced them on calibration inputs. */
export interface LayerInputs {
  /** Row-major [rows, width]. */
  readonly values: Float32Array;
  readonly rows: number;
  readonly width: number;
}

/**
 * The Hessian of a linear layer's squared output error with respect to one output
 * column's weights: H = 2 XᵀX / n, the same for every column. Damping (a fraction of the
 * mean diagonal) keeps H invertible when inputs are dead (ReLU units that never fire) or
 * fewer rows than inputs were seen. Returns a row-major [width, width] Float64Array.
 */
export function layerHessian(inputs: LayerInputs, dampFraction = 0.01): Float64Array {
  const { rows, width, values } = inputs;
  if (rows === 0) throw new Error('a layer Hessian needs at least one input row');
  // Column-major copy: each entry of H is then a dot product of two contiguous columns.
  const columns = new Float64Array(width * rows);
  for (let r = 0; r < rows; r += 1) {
    const from = r * width;
    for (let c = 0; c < width; c += 1) columns[c * rows + r] = values[from + c]!;
  }
  const hessian = new Float64Array(width * width);
  const scale = 2 / rows;
  for (let i = 0; i < width; i += 1) {
    const a = i * rows;
    for (let j = i; j < width; j += 1) {
      const b = j * rows;
      let sum = 0;
      for (let r = 0; r < rows; r += 1) sum += columns[a + r]! * columns[b + r]!;
      hessian[i * width + j] = sum * scale;
      hessian[j * width + i] = sum * scale;
    }
  }
  let trace = 0;
  for (let i = 0; i < width; i += 1) trace += hessian[i * width + i]!;
  // An all-zero input would leave no scale to damp by; any positive one keeps H definite.
  const damping = trace > 0 ? (dampFraction * trace) / width : 1;
  for (let i = 0; i < width * width; i += width + 1) hessian[i] = hessian[i]! + damping;
  return hessian;
}
