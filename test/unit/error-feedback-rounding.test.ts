import { describe, expect, it } from 'vitest';
import { errorFeedbackRounding, outputError } from '../../models/quantize/error-feedback-rounding.js';
import { inverseHessianFactor } from '../../models/quantize/inverse-hessian-factor.js';
import { quantizePerChannel, WEIGHT_LIMIT } from '../../models/quantize/int8-weights.js';
import { layerHessian } from '../../models/quantize/layer-hessian.js';

const K = 64;
const N = 32;
const ROWS = 512;

/** Seeded uniform numbers in [-1, 1). */
function uniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32) * 2 - 1;
  };
}

/** Inputs with strong correlation between neighbouring features (a random walk along each row), as real activations have. */
function correlatedInputs(next: () => number): Float32Array {
  const inputs = new Float32Array(ROWS * K);
  for (let r = 0; r < ROWS; r += 1) {
    let walk = next();
    for (let k = 0; k < K; k += 1) {
      walk = 0.8 * walk + 0.6 * next();
      inputs[r * K + k] = walk;
    }
  }
  return inputs;
}

function layer(): { weight: Float32Array; inputs: Float32Array } {
  const next = uniform(7);
  return { weight: Float32Array.from({ length: K * N }, () => next() * 0.2), inputs: correlatedInputs(next) };
}

describe('error-feedback rounding', () => {
  it('adds clearly less output error than round-to-nearest on correlated inputs', () => {
    const { weight, inputs } = layer();
    const nearest = quantizePerChannel(weight, [K, N], 1);
    const hessian = layerHessian({ values: inputs, rows: ROWS, width: K });
    const feedback = errorFeedbackRounding(weight, K, N, nearest.scales, hessian);
    const nearestError = outputError(inputs, ROWS, weight, K, N, nearest.values, nearest.scales);
    const feedbackError = outputError(inputs, ROWS, weight, K, N, feedback, nearest.scales);
    expect(feedbackError).toBeLessThan(0.8 * nearestError);
  });

  it('keeps every level within ±WEIGHT_LIMIT (64), even when clipped scales push weights past them', () => {
    const { weight, inputs } = layer();
    // Half the MSE scale: many weights land beyond the top level and errors pile onto them.
    const scales = quantizePerChannel(weight, [K, N], 1).scales.map((scale) => scale / 2);
    const feedback = errorFeedbackRounding(weight, K, N, scales, layerHessian({ values: inputs, rows: ROWS, width: K }));
    for (const level of feedback) {
      expect(level).toBeGreaterThanOrEqual(-WEIGHT_LIMIT);
      expect(level).toBeLessThanOrEqual(WEIGHT_LIMIT);
    }
  });

  it('is round-to-nearest when H is the identity (uncorrelated inputs: nothing to feed back)', () => {
    const { weight } = layer();
    const nearest = quantizePerChannel(weight, [K, N], 1);
    const identity = new Float64Array(K * K);
    for (let k = 0; k < K; k += 1) identity[k * K + k] = 1;
    expect(Array.from(errorFeedbackRounding(weight, K, N, nearest.scales, identity))).toEqual(Array.from(nearest.values));
  });

  it('factors the inverse Hessian: UᵀU H = I', () => {
    const { inputs } = layer();
    const hessian = layerHessian({ values: inputs, rows: ROWS, width: K });
    const u = inverseHessianFactor(hessian, K);
    let worst = 0;
    for (let i = 0; i < K; i += 1) {
      for (let j = 0; j < K; j += 1) {
        // (UᵀU H)[i][j] = sum over a, b of U[a][i] U[a][b] H[b][j].
        let sum = 0;
        for (let a = 0; a <= i; a += 1) {
          let row = 0;
          for (let b = a; b < K; b += 1) row += u[a * K + b]! * hessian[b * K + j]!;
          sum += u[a * K + i]! * row;
        }
        worst = Math.max(worst, Math.abs(sum - (i === j ? 1 : 0)));
      }
    }
    expect(worst).toBeLessThan(1e-8);
  });

  it('leaves its arguments untouched', () => {
    const { weight, inputs } = layer();
    const copy = Float32Array.from(weight);
    const hessian = layerHessian({ values: inputs, rows: ROWS, width: K });
    const hessianCopy = Float64Array.from(hessian);
    errorFeedbackRounding(weight, K, N, quantizePerChannel(weight, [K, N], 1).scales, hessian);
    expect(weight).toEqual(copy);
    expect(hessian).toEqual(hessianCopy);
  });
});
