import { describe, expect, it } from 'vitest';
import { speechSegments, type SegmentRules } from '../../gateway/pipelines/transforms/vad/speech-segments.js';

/** 100 ms windows keep the arithmetic readable. */
const WINDOW_S = 0.1;
const RULES: SegmentRules = { startThreshold: 0.5, endThreshold: 0.35, minSilenceS: 0.2, minSpeechS: 0.25 };

const run = (probabilities: number[], rules: SegmentRules = RULES) =>
  speechSegments(probabilities, WINDOW_S, probabilities.length * WINDOW_S, rules);

describe('speechSegments (hysteresis)', () => {
  it('starts at the first window above the start threshold and ends where the silence began', () => {
    const segments = run([0.1, 0.1, 0.9, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1]);
    expect(segments).toEqual([{ start_s: 0.2, end_s: 0.6, confidence: 0.9 }]);
  });

  it('does not end on values between the thresholds', () => {
    const segments = run([0.9, 0.9, 0.4, 0.4, 0.4, 0.4, 0.9, 0.1, 0.1, 0.1]);
    expect(segments).toEqual([{ start_s: 0, end_s: 0.7, confidence: expect.closeTo((0.9 * 3 + 0.4 * 4) / 7, 3) }]);
  });

  it('bridges pauses shorter than the minimum silence, splits at longer ones', () => {
    expect(run([0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.1, 0.1])).toHaveLength(1);
    const split = run([0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.1, 0.1]);
    expect(split.map((segment) => [segment.start_s, segment.end_s])).toEqual([
      [0, 0.3],
      [0.6, 0.9],
    ]);
  });

  it('resets a started silence when the probability rises above the start threshold again', () => {
    // Silence of one window, speech, silence of one window: never two windows in a row.
    expect(run([0.9, 0.9, 0.2, 0.9, 0.2, 0.9, 0.9])).toEqual([{ start_s: 0, end_s: 0.7, confidence: expect.any(Number) }]);
  });

  it('drops segments shorter than the minimum speech', () => {
    expect(run([0.1, 0.9, 0.9, 0.1, 0.1, 0.1])).toEqual([]);
  });

  it('closes a segment still open at the end, at the end of the audio (not past it)', () => {
    const segments = speechSegments([0.1, 0.9, 0.9, 0.9, 0.9], WINDOW_S, 0.46, RULES);
    expect(segments).toEqual([{ start_s: 0.1, end_s: 0.46, confidence: 0.9 }]);
  });

  it('finds nothing in silence or an empty sequence', () => {
    expect(run(new Array(50).fill(0.02))).toEqual([]);
    expect(run([])).toEqual([]);
  });
});
