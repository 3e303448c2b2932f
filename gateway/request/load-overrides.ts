import { ServingError } from '../../workers/protocol/errors.js';

/**
 * Triton's load may carry a model's config (`config`) and files (`file:<path>`) to load from:
 * Switchyard loads from its repository only, so both front ends refuse them alike (501,
 * UNIMPLEMENTED). Other parameters are let by, as Triton lets them.
 */
export function refuseLoadOverrides(parameters: unknown): void {
  if (parameters === undefined) return;
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters))
    throw new ServingError('invalid_request', 'parameters must be a JSON object');
  const overrides = Object.keys(parameters).filter((key) => key === 'config' || key.startsWith('file:'));
  if (overrides.length > 0) {
    const what = overrides.includes('config') ? '"config"' : '"file:" parameters';
    throw new ServingError('not_supported', `load takes no ${what}: models load from the repository as they are`);
  }
}
