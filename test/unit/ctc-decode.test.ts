import { describe, expect, it } from 'vitest';
import { decodeCtc } from '../../gateway/pipelines/transforms/ocr/ctc-decode.js';

/** Blank, a, b, c, space: the layout characterDictionary builds. */
const CHARACTERS = ['', 'a', 'b', 'c', ' '];

/** One row per time step: the named class gets `peak`, the rest share what is left. */
function steps(classes: readonly number[], peak = 0.9): Float32Array {
  const out = new Float32Array(classes.length * CHARACTERS.length).fill((1 - peak) / (CHARACTERS.length - 1));
  classes.forEach((k, t) => {
    out[t * CHARACTERS.length + k] = peak;
  });
  return out;
}

describe('decodeCtc (greedy)', () => {
  it('collapses repeats and drops blanks', () => {
    expect(decodeCtc(steps([1, 1, 0, 2, 2, 2, 0, 0, 3]), 9, CHARACTERS).text).toBe('abc');
  });

  it('keeps a doubled letter only when a blank separates the two', () => {
    expect(decodeCtc(steps([1, 0, 1, 1, 2]), 5, CHARACTERS).text).toBe('aab');
    expect(decodeCtc(steps([1, 1, 1]), 3, CHARACTERS).text).toBe('a');
  });

  it('maps the last class to a space', () => {
    expect(decodeCtc(steps([1, 4, 2]), 3, CHARACTERS).text).toBe('a b');
  });

  it('scores a line by the mean of its kept characters, not of its blanks', () => {
    const probabilities = steps([1, 0, 2]);
    probabilities[0 * 5 + 1] = 0.6;
    probabilities[1 * 5 + 0] = 0.99;
    probabilities[2 * 5 + 2] = 0.8;
    expect(decodeCtc(probabilities, 3, CHARACTERS).confidence).toBeCloseTo(0.7, 5);
  });

  it('gives an empty text with confidence 0 for all blanks', () => {
    expect(decodeCtc(steps([0, 0, 0]), 3, CHARACTERS)).toEqual({ text: '', confidence: 0 });
  });
});
