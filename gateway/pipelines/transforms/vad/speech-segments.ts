export interface SegmentRules {
  /** A segment starts at the first window at or above this probability. */
  readonly startThreshold: number;
  /** ...and ends where the probability drops below this one, if it stays there long enough. */
  readonly endThreshold: number;
  /** Shorter dips (pauses between words) do not end a segment. */
  readonly minSilenceS: number;
  /** Shorter segments (clicks, coughs) are dropped. */
  readonly minSpeechS: number;
}

export interface SpeechSegment {
  readonly start_s: number;
  readonly end_s: number;
  /** Mean speech probability over the segment's windows. */
  readonly confidence: number;
}

/**
 * Speech segments from per-window speech probabilities, with hysteresis (as Silero's
 * own timestamps do): two thresholds, so a probability wavering around one value does
 * not split a segment, and a minimum silence before a segment ends. Times are in
 * seconds, rounded to the millisecond, and never past `durationS`.
 */
export function speechSegments(probabilities: readonly number[], windowS: number, durationS: number, rules: SegmentRules): SpeechSegment[] {
  const segments: SpeechSegment[] = [];
  let start = -1;
  let silenceStart = -1;
  const close = (end: number): void => {
    const startS = start * windowS;
    const endS = Math.min(end * windowS, durationS);
    if (endS - startS >= rules.minSpeechS) {
      let sum = 0;
      for (let i = start; i < end; i += 1) sum += probabilities[i]!;
      segments.push({ start_s: milliseconds(startS), end_s: milliseconds(endS), confidence: milliseconds(sum / (end - start)) });
    }
    start = -1;
    silenceStart = -1;
  };
  probabilities.forEach((probability, index) => {
    if (start < 0) {
      if (probability >= rules.startThreshold) start = index;
      return;
    }
    if (probability >= rules.startThreshold) silenceStart = -1;
    else if (probability < rules.endThreshold) {
      if (silenceStart < 0) silenceStart = index;
      if ((index + 1 - silenceStart) * windowS >= rules.minSilenceS) close(silenceStart);
    }
  });
  if (start >= 0) close(silenceStart >= 0 ? silenceStart : probabilities.length);
  return segments;
}

const milliseconds = (value: number): number => Math.round(value * 1000) / 1000;
