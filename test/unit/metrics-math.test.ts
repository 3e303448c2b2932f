import { describe, expect, it } from 'vitest';
import { ConfidenceDrift } from '../../workers/metrics/confidence-drift.js';
import { parseNvidiaSmi } from '../../workers/metrics/gpu-metrics.js';
import { probabilityClasses, topProbabilities } from '../../workers/metrics/output-confidence.js';
import { loadRepository } from '../../workers/repository/load-repository.js';
import { populationStabilityIndex } from '../../workers/metrics/psi.js';

/** Deterministic values in [0, 1], spread like a confident classifier's top probabilities. */
function sample(count: number, shift: number, seed: number): number[] {
  let state = seed;
  const next = (): number => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: count }, () => Math.min(1, Math.max(0, 0.5 + shift + (next() - 0.5) * 0.4)));
}

describe('population stability index', () => {
  it('is about 0 for the same distribution', () => {
    expect(populationStabilityIndex(sample(1000, 0, 1), sample(1000, 0, 2))).toBeLessThan(0.05);
    expect(populationStabilityIndex(sample(1000, 0, 1), sample(1000, 0, 1))).toBe(0);
  });

  it('exceeds 0.2 for a shifted distribution, and stays finite with empty bins', () => {
    const psi = populationStabilityIndex(sample(1000, 0, 1), sample(1000, 0.3, 2));
    expect(psi).toBeGreaterThan(0.2);
    expect(Number.isFinite(psi)).toBe(true);
  });

  it('drift reports once the baseline is full, against the latest window', () => {
    const drift = new ConfidenceDrift(100);
    for (const value of sample(99, 0, 1)) drift.add(value);
    expect(drift.psi()).toBeUndefined();
    drift.add(0.5);
    expect(drift.psi()).toBe(0);
    for (const value of sample(100, 0.3, 3)) drift.add(value);
    expect(drift.psi()!).toBeGreaterThan(0.2);
  });
});

describe('output confidence', () => {
  it('takes the top probability of each row, and nothing from logits', () => {
    const tensor = { name: 'p', datatype: 'FP32' as const, shape: [2, 3], data: Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.25, 0.25]) };
    expect(topProbabilities(tensor, 3)!.map((v) => Math.round(v * 100) / 100)).toEqual([0.7, 0.5]);
    expect(topProbabilities({ ...tensor, data: Float32Array.from([2.5, -1, 0, 0, 0, 0]) }, 3)).toBeUndefined();
  });

  it("is read from the shipped classifiers' vectors, never from a sequence or a map", async () => {
    const classes = new Map((await loadRepository('models')).map((d) => [d.name, probabilityClasses(d.config)]));
    expect(classes.get('mlp-classifier')).toBe(10);
    expect(classes.get('text-direction')).toBe(2);
    expect(classes.get('emotion')).toBe(7);
    // The recognizer's [steps, 6625] per line and the detector's map are not one distribution per row.
    expect(classes.get('text-recognizer')).toBeUndefined();
    expect(classes.get('text-detector')).toBeUndefined();
  });
});

describe('nvidia-smi parsing', () => {
  it('reads index, utilization and memory, skipping fields it cannot read', () => {
    const output = '0, 37, 1024\n1, 100, 80000\n2, [N/A], [N/A]\n\n';
    expect(parseNvidiaSmi(output)).toEqual([
      { gpu: '0', utilization: 0.37, memoryUsedBytes: 1024 * 1024 * 1024 },
      { gpu: '1', utilization: 1, memoryUsedBytes: 80000 * 1024 * 1024 },
    ]);
    expect(parseNvidiaSmi('')).toEqual([]);
  });
});
