import type { Tensor } from '../protocol/tensor.js';
import type { ModelConfig } from '../repository/model-config.js';

// FP16 travels as raw half-precision bits, so only FP32 and FP64 values can be read as they are.
const FLOATS = new Set(['FP32', 'FP64']);

/**
 * The class count when the model's first output may hold probabilities: a float output
 * whose declared last dim is fixed and > 1. Decided once from the config, so outputs
 * such as a detector's variable-size probability map are never scanned.
 */
export function probabilityClasses(config: ModelConfig): number | undefined {
  const first = config.outputs[0];
  const last = first?.shape.at(-1);
  if (!first || !FLOATS.has(first.datatype) || last === undefined || last <= 1) return undefined;
  return last;
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
