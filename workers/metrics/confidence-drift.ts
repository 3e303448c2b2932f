import { populationStabilityIndex } from './psi.js';

/**
 * One model version's confidences: the first `size` seen after start are the baseline,
 * and a ring buffer keeps the latest `size`. Memory is fixed (two arrays of `size`);
 * the PSI is computed only when scraped.
 */
export class ConfidenceDrift {
  readonly #baseline: Float64Array;
  readonly #recent: Float64Array;
  #baselineCount = 0;
  #recentCount = 0;
  #next = 0;

  constructor(readonly size: number) {
    this.#baseline = new Float64Array(size);
    this.#recent = new Float64Array(size);
  }

  add(confidence: number): void {
    if (this.#baselineCount < this.size) this.#baseline[this.#baselineCount++] = confidence;
    this.#recent[this.#next] = confidence;
    this.#next = (this.#next + 1) % this.size;
    this.#recentCount = Math.min(this.size, this.#recentCount + 1);
  }

  /** Undefined until the baseline is complete: a PSI against a partial baseline means little. */
  psi(): number | undefined {
    if (this.#baselineCount < this.size) return undefined;
    return populationStabilityIndex(this.#baseline, this.#recent.subarray(0, this.#recentCount));
  }
}
