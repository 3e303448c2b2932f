/** Edit distance (insertions, deletions, substitutions) between two strings, by code point. */
export function levenshtein(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  let previous = Array.from({ length: right.length + 1 }, (_, j) => j);
  for (let i = 1; i <= left.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= right.length; j += 1) {
      const substitution = previous[j - 1]! + (left[i - 1] === right[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[right.length]!;
}

/** 1 - character error rate, summed over pairs of (expected, read) texts. */
export function characterAccuracy(pairs: readonly (readonly [expected: string, read: string])[]): number {
  const errors = pairs.reduce((sum, [expected, read]) => sum + levenshtein(expected, read), 0);
  const characters = pairs.reduce((sum, [expected]) => sum + [...expected].length, 0);
  return 1 - errors / characters;
}
