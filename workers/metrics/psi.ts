/**
 * Population stability index between two samples of values in [0, 1], over equal-width
 * bins: sum over bins of (actual - expected) * ln(actual / expected), on proportions.
 * Rules of thumb: < 0.1 stable, 0.1 to 0.2 a moderate shift, > 0.2 a significant one.
 */
export const PSI_BINS = 10;
/** Stands in for an empty bin's proportion, so ln() stays finite. */
export const PSI_EPSILON = 1e-4;

/** Proportion of `values` in each of `bins` equal-width bins over [0, 1]; 1 falls in the last bin. */
export function binProportions(values: ArrayLike<number>, bins = PSI_BINS): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i += 1) {
    const value = Math.min(1, Math.max(0, values[i]!));
    counts[Math.min(bins - 1, Math.floor(value * bins))]! += 1;
  }
  const total = Math.max(1, values.length);
  return counts.map((count) => count / total);
}

export function populationStabilityIndex(
  expected: ArrayLike<number>,
  actual: ArrayLike<number>,
  bins = PSI_BINS,
  epsilon = PSI_EPSILON,
): number {
  const e = binProportions(expected, bins);
  const a = binProportions(actual, bins);
  let psi = 0;
  for (let i = 0; i < bins; i += 1) {
    const ei = Math.max(e[i]!, epsilon);
    const ai = Math.max(a[i]!, epsilon);
    psi += (ai - ei) * Math.log(ai / ei);
  }
  return psi;
}
