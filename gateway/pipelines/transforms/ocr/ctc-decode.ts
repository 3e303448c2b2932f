export interface DecodedText {
  readonly text: string;
  /** Mean of the kept characters' probabilities; 0 for an empty text. */
  readonly confidence: number;
}

/**
 * Greedy CTC decoding of one line: the most likely class at each time step, repeats
 * collapsed, blanks (class 0) dropped. `characters[k]` is the text of class k.
 */
export function decodeCtc(probabilities: ArrayLike<number>, steps: number, characters: readonly string[]): DecodedText {
  const classes = characters.length;
  let text = '';
  let sum = 0;
  let kept = 0;
  let previous = -1;
  for (let t = 0; t < steps; t += 1) {
    const row = t * classes;
    let best = 0;
    let bestProbability = probabilities[row]!;
    for (let k = 1; k < classes; k += 1) {
      const probability = probabilities[row + k]!;
      if (probability > bestProbability) {
        best = k;
        bestProbability = probability;
      }
    }
    if (best !== 0 && best !== previous) {
      text += characters[best]!;
      sum += bestProbability;
      kept += 1;
    }
    previous = best;
  }
  return { text, confidence: kept > 0 ? sum / kept : 0 };
}
