import { ServingError } from '../../workers/protocol/errors.js';

/**
 * Triton's sequence batcher's request parameters (tritonclient's sequence_id, sequence_start and
 * sequence_end). Switchyard has no sequence batcher, so a request naming a sequence is refused,
 * as Triton refuses one to a model without sequence batching: answered as independent calls, a
 * stateful sequence would go wrong without a word. An id of 0 or "" and false flags (no sequence) pass.
 */
export function refuseSequence(parameters: Readonly<Record<string, unknown>>): void {
  const { sequence_id: id, sequence_start: start, sequence_end: end } = parameters;
  if (id !== undefined && typeof id !== 'string' && !(typeof id === 'number' && Number.isInteger(id) && id >= 0))
    throw new ServingError('invalid_parameter', 'parameter sequence_id must be a non-negative integer or a string');
  for (const [name, flag] of [
    ['sequence_start', start],
    ['sequence_end', end],
  ] as const) {
    if (flag !== undefined && typeof flag !== 'boolean')
      throw new ServingError('invalid_parameter', `parameter ${name} must be true or false`);
  }
  if ((id !== undefined && id !== 0 && id !== '') || start === true || end === true) {
    throw new ServingError(
      'invalid_parameter',
      'Switchyard has no sequence batching: a request must not specify a non-zero or non-empty correlation ID (sequence_id) nor set sequence_start or sequence_end; send each request as an independent call',
    );
  }
}
