/**
 * The upper-triangular U with H⁻¹ = UᵀU, for a symmetric positive-definite H (row-major
 * [size, size], not modified). Row k of U, divided by U[k][k], is the row of the inverse
 * Hessian restricted to inputs k.. — what error feedback needs after inputs 0..k-1 are
 * fixed — without ever updating an explicit inverse (which loses precision, per GPTQ).
 *
 * Taken through H = R Rᵀ with R upper triangular (a Cholesky factorization that starts
 * from the last row), so U = R⁻¹: both steps stream over rows of row-major arrays.
 */
export function inverseHessianFactor(hessian: Float64Array, size: number): Float64Array {
  return invertUpperTriangular(upperCholesky(hessian, size), size);
}

/** R upper triangular with H = R Rᵀ, built from the last row and column backwards. */
function upperCholesky(hessian: Float64Array, size: number): Float64Array {
  const r = new Float64Array(size * size);
  for (let j = size - 1; j >= 0; j -= 1) {
    const rowJ = j * size;
    let diagonal = hessian[rowJ + j]!;
    for (let m = j + 1; m < size; m += 1) diagonal -= r[rowJ + m]! * r[rowJ + m]!;
    if (!(diagonal > 0))
      throw new Error(`the layer Hessian is not positive definite (pivot ${j}): raise the damping or give more calibration rows`);
    const pivot = Math.sqrt(diagonal);
    r[rowJ + j] = pivot;
    for (let i = 0; i < j; i += 1) {
      const rowI = i * size;
      let sum = hessian[rowI + j]!;
      for (let m = j + 1; m < size; m += 1) sum -= r[rowI + m]! * r[rowJ + m]!;
      r[rowI + j] = sum / pivot;
    }
  }
  return r;
}

/** U = R⁻¹ for upper-triangular R: row i of U is a combination of the rows below it. */
function invertUpperTriangular(r: Float64Array, size: number): Float64Array {
  const u = new Float64Array(size * size);
  for (let i = size - 1; i >= 0; i -= 1) {
    const rowI = i * size;
    const inverseDiagonal = 1 / r[rowI + i]!;
    u[rowI + i] = inverseDiagonal;
    // R U = I on row i: R[i][i] U[i][:] = -sum over m > i of R[i][m] U[m][:].
    for (let m = i + 1; m < size; m += 1) {
      const factor = -r[rowI + m]! * inverseDiagonal;
      if (factor === 0) continue;
      const rowM = m * size;
      for (let c = m; c < size; c += 1) u[rowI + c] = u[rowI + c]! + factor * u[rowM + c]!;
    }
  }
  return u;
}
