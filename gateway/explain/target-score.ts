import { ServingError } from '../../workers/protocol/errors.js';
import type { Tensor } from '../../workers/protocol/tensor.js';
import type { ModelConfig } from '../../workers/repository/model-config.js';

/**
 * The class explained for one row (the asked one, else the row's top class) and its score in
 * the live answer; no score when the caller left the target output out of its answer.
 */
export function targetOf(
  outputs: readonly Tensor[],
  output: string,
  config: ModelConfig,
  row: number,
  asked: number | undefined,
): { class: number; score?: number } {
  const size = config.outputs.find((spec) => spec.name === output)!.shape.reduce((a, b) => a * b, 1);
  if (asked !== undefined && asked >= size)
    throw new ServingError('invalid_parameter', `parameters.explain.class: output "${output}" has ${size} values per row`);
  const tensor = outputs.find((candidate) => candidate.name === output);
  if (!tensor) {
    if (asked === undefined)
      throw new ServingError(
        'invalid_parameter',
        `output "${output}" is explained: request it among the outputs, or name the class in parameters.explain.class`,
      );
    return { class: asked };
  }
  const values = Array.from(tensor.data.subarray(row * size, (row + 1) * size) as ArrayLike<number>, Number);
  const klass = asked ?? values.reduce((best, value, i) => (value > values[best]! ? i : best), 0);
  return { class: klass, score: values[klass]! };
}
