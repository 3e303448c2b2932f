import { ServingError } from '../../../../workers/protocol/errors.js';
import type { Tensor } from '../../../../workers/protocol/tensor.js';
import { isTensor } from '../../step-values.js';
import type { Transform } from '../transform.js';

interface TopKOptions {
  readonly k: number;
  readonly labels?: readonly string[];
}

function readOptions(options: Readonly<Record<string, unknown>>): TopKOptions {
  const { k = 1, labels, ...rest } = options;
  if (Object.keys(rest).length > 0) throw new Error(`unknown options ${Object.keys(rest).join(', ')}`);
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) throw new Error('k must be an integer >= 1');
  if (labels !== undefined && (!Array.isArray(labels) || !labels.every((label) => typeof label === 'string')))
    throw new Error('labels must be a list of strings');
  return { k, ...(labels ? { labels: labels as string[] } : {}) };
}

/**
 * Scores (one row, or the first row of a batch) to the k best classes with their labels,
 * or a list of such rows for a mapped step's list of tensors.
 */
export const topK: Transform = {
  name: 'top-k',
  inputs: ['scores'],
  outputs: ['top'],
  checkOptions(options) {
    readOptions(options);
  },
  async run({ scores }, options) {
    const { k, labels } = readOptions(options);
    const rank = (tensor: Tensor): { index: number; label?: string; score: number }[] => {
      const values = Array.from(tensor.data as ArrayLike<number>).slice(0, tensor.shape[tensor.shape.length - 1]);
      return values
        .map((score, index) => ({ index, ...(labels?.[index] !== undefined ? { label: labels[index] } : {}), score }))
        .sort((a, b) => b.score - a.score)
        .slice(0, k);
    };
    if (Array.isArray(scores)) return { top: scores.map((item) => (isTensor(item) ? rank(item) : [])) };
    if (!isTensor(scores)) throw new ServingError('invalid_request', 'top-k needs a tensor of scores');
    return { top: rank(scores) };
  },
};
