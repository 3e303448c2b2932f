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
  // Column-major copy, padded to whole 4-column tiles: each 4 x 4 tile of H then reads
  // eight contiguous columns once, instead of two columns per entry (memory-bound).
  const padded = Math.ceil(width / 4) * 4;
  const columns = new Float64Array(padded * rows);
  for (let r = 0; r < rows; r += 1) {
    const from = r * width;
    for (let c = 0; c < width; c += 1) columns[c * rows + r] = values[from + c]!;
  }
  const hessian = new Float64Array(width * width);
  const scale = 2 / rows;
  const tile = new Float64Array(16);
  for (let i = 0; i < padded; i += 4) {
    for (let j = i; j < padded; j += 4) {
      tileProduct(columns, rows, i, j, tile);
      for (let a = 0; a < 4; a += 1) {
        for (let b = 0; b < 4; b += 1) {
          const row = i + a;
          const column = j + b;
          if (row >= width || column >= width) continue;
          hessian[row * width + column] = tile[a * 4 + b]! * scale;
          hessian[column * width + row] = tile[a * 4 + b]! * scale;
        }
      }
    }
  }
  let trace = 0;
  for (let i = 0; i < width; i += 1) trace += hessian[i * width + i]!;
  // An all-zero input would leave no scale to damp by; any positive one keeps H definite.
  const damping = trace > 0 ? (dampFraction * trace) / width : 1;
  for (let i = 0; i < width * width; i += width + 1) hessian[i] = hessian[i]! + damping;
  return hessian;
}

/** tile[a * 4 + b] = dot(column i + a, column j + b), sixteen sums in one pass over the rows. */
function tileProduct(columns: Float64Array, rows: number, i: number, j: number, tile: Float64Array): void {
  const [a0, a1, a2, a3] = [i * rows, (i + 1) * rows, (i + 2) * rows, (i + 3) * rows];
  const [b0, b1, b2, b3] = [j * rows, (j + 1) * rows, (j + 2) * rows, (j + 3) * rows];
  let s00 = 0,
    s01 = 0,
    s02 = 0,
    s03 = 0,
    s10 = 0,
    s11 = 0,
    s12 = 0,
    s13 = 0;
  let s20 = 0,
    s21 = 0,
    s22 = 0,
    s23 = 0,
    s30 = 0,
    s31 = 0,
    s32 = 0,
    s33 = 0;
  for (let r = 0; r < rows; r += 1) {
    const x0 = columns[a0 + r]!,
      x1 = columns[a1 + r]!,
      x2 = columns[a2 + r]!,
      x3 = columns[a3 + r]!;
    const y0 = columns[b0 + r]!,
      y1 = columns[b1 + r]!,
      y2 = columns[b2 + r]!,
      y3 = columns[b3 + r]!;
    s00 += x0 * y0;
    s01 += x0 * y1;
    s02 += x0 * y2;
    s03 += x0 * y3;
    s10 += x1 * y0;
    s11 += x1 * y1;
    s12 += x1 * y2;
    s13 += x1 * y3;
    s20 += x2 * y0;
    s21 += x2 * y1;
    s22 += x2 * y2;
    s23 += x2 * y3;
    s30 += x3 * y0;
    s31 += x3 * y1;
    s32 += x3 * y2;
    s33 += x3 * y3;
  }
  tile.set([s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33]);
}
