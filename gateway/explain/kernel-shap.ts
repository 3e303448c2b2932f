/**
 * KernelSHAP: coalitions of features are sampled with the Shapley kernel's weight per
 * coalition size, the model is scored with the features outside each coalition set to the
 * baseline, and a linear model fitted to those scores (constrained so the attributions add
 * up to score(x) − score(baseline)) gives the Shapley values' estimate.
 */

/** A small seeded generator (mulberry32): the same seed samples the same coalitions. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `count` coalitions of `features` (1 = kept), sizes drawn by the Shapley kernel: (M−1) / (k (M−k)). */
export function sampleCoalitions(features: number, count: number, random: () => number): Uint8Array[] {
  const weights: number[] = [];
  for (let k = 1; k < features; k += 1) weights.push((features - 1) / (k * (features - k)));
  const total = weights.reduce((a, b) => a + b, 0);
  const order = Int32Array.from({ length: features }, (_, i) => i);
  const out: Uint8Array[] = [];
  for (let s = 0; s < count; s += 1) {
    let pick = random() * total;
    let size = 1;
    while (size < features - 1 && pick >= weights[size - 1]!) pick -= weights[size++ - 1]!;
    // A partial Fisher–Yates shuffle picks `size` features uniformly.
    const mask = new Uint8Array(features);
    for (let i = 0; i < size; i += 1) {
      const j = i + Math.floor(random() * (features - i));
      [order[i], order[j]] = [order[j]!, order[i]!];
      mask[order[i]!] = 1;
    }
    out.push(mask);
  }
  return out;
}

/**
 * The constrained least-squares fit. The last feature's value is eliminated with the
 * constraint; a tiny ridge keeps the normal equations solvable when samples are few.
 */
export function fitShapley(
  coalitions: readonly Uint8Array[],
  scores: ArrayLike<number>,
  baselineScore: number,
  fullScore: number,
): Float64Array {
  const features = coalitions[0]?.length ?? 0;
  const delta = fullScore - baselineScore;
  const phi = new Float64Array(features);
  if (features <= 1) {
    if (features === 1) phi[0] = delta;
    return phi;
  }
  const m = features - 1;
  const a = new Float64Array(m * m);
  const b = new Float64Array(m);
  const row = new Float64Array(m);
  coalitions.forEach((z, n) => {
    const last = z[m]!;
    const y = scores[n]! - baselineScore - last * delta;
    for (let j = 0; j < m; j += 1) row[j] = z[j]! - last;
    for (let i = 0; i < m; i += 1) {
      const ri = row[i]!;
      if (ri === 0) continue;
      b[i] = b[i]! + ri * y;
      for (let j = 0; j < m; j += 1) a[i * m + j] = a[i * m + j]! + ri * row[j]!;
    }
  });
  let trace = 0;
  for (let i = 0; i < m; i += 1) trace += a[i * m + i]!;
  const ridge = Math.max(1e-12, (1e-8 * trace) / m);
  for (let i = 0; i < m; i += 1) a[i * m + i] = a[i * m + i]! + ridge;
  const solved = choleskySolve(a, b, m);
  let sum = 0;
  for (let j = 0; j < m; j += 1) {
    phi[j] = solved[j]!;
    sum += solved[j]!;
  }
  phi[m] = delta - sum;
  return phi;
}

/** Solves A x = b for a symmetric positive-definite A (row-major, n × n), in place of A. */
function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j += 1) {
    let diagonal = a[j * n + j]!;
    for (let k = 0; k < j; k += 1) diagonal -= a[j * n + k]! ** 2;
    const l = Math.sqrt(Math.max(diagonal, 1e-300));
    a[j * n + j] = l;
    for (let i = j + 1; i < n; i += 1) {
      let value = a[i * n + j]!;
      for (let k = 0; k < j; k += 1) value -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = value / l;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i += 1) {
    let value = b[i]!;
    for (let k = 0; k < i; k += 1) value -= a[i * n + k]! * y[k]!;
    y[i] = value / a[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i -= 1) {
    let value = y[i]!;
    for (let k = i + 1; k < n; k += 1) value -= a[k * n + i]! * x[k]!;
    x[i] = value / a[i * n + i]!;
  }
  return x;
}
