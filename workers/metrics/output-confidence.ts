import type { Tensor } from '../protocol/tensor.js';
import type { ModelConfig } from '../repository/model-config.js';

// FP16 travels as raw half-precision bits, so only FP32 and FP64 values can be read as they are.
const FLOATS = new Set(['FP32', 'FP64']);

/**
 * The class count when the model's first output may hold probabilities: a float output
 * holding one vector per row (one declared dim beside the batch dim) whose length is fixed
 * and > 1. Decided once from the config, so a detector's probability map or a recognizer's
 * sequence of per-step distributions (265,000 values a text line) is never scanned.
 */
export function probabilityClasses(config: ModelConfig): number | undefined {
  const first = config.outputs[0];
  const last = first?.shape.at(-1);
  if (!first || !FLOATS.has(first.datatype) || last === undefined || last <= 1) return undefined;
  const perRow = config.max_batch_size > 0 ? first.shape.length : first.shape.length - 1;
  return perRow === 1 ? last : undefined;
}

/**
 * The top probability of each row (rows of `classes` values), or undefined when a value
 * lies outside [0, 1]: then the output is logits or scores, not probabilities.
 */
export function topProbabilities(tensor: Tensor, classes: number): number[] | undefined {
  const data = tensor.data as ArrayLike<number>;
  if (typeof data[0] !== 'number' || data.length % classes !== 0) return undefined;
  const tops: number[] = [];
  for (let row = 0; row < data.length; row += classes) {
    let top = 0;
    for (let i = row; i < row + classes; i += 1) {
      const value = data[i]!;
      if (!(value >= 0 && value <= 1)) return undefined;
      if (value > top) top = value;
    }
    tops.push(top);
  }
  return tops;
}
