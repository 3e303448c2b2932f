import { describe, expect, it } from 'vitest';
import { confidence } from '../../gateway/routing/choose-tiers.js';
import type { Tensor } from '../../workers/protocol/tensor.js';

const tensor = (shape: number[], values: number[]): Tensor => ({ name: 'p', datatype: 'FP32', shape, data: Float32Array.from(values) });

describe('cascade confidence', () => {
  it('is the top probability of a one-row classifier output', () => {
    expect(confidence(tensor([1, 3], [0.2, 0.7, 0.1]), true)).toBeCloseTo(0.7, 6);
  });

  it('is decided by the least confident row of a batch', () => {
    expect(confidence(tensor([2, 2], [0.9, 0.1, 0.55, 0.45]), true)).toBeCloseTo(0.55, 6);
  });

  it('averages the steps of a sequence output (CTC: [rows, steps, classes])', () => {
    // One row, three steps whose top probabilities are 0.9, 0.6 and 0.3.
    expect(confidence(tensor([1, 3, 2], [0.9, 0.1, 0.4, 0.6, 0.3, 0.2]), true)).toBeCloseTo(0.6, 6);
  });

  it('treats a model without a batch dim as one row', () => {
    expect(confidence(tensor([2, 2], [0.9, 0.1, 0.55, 0.45]), false)).toBeCloseTo(0.725, 6);
  });
});
