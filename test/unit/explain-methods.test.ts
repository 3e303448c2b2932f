import { describe, expect, it } from 'vitest';
import { baselineRow } from '../../gateway/explain/baselines.js';
import { planExplanation, planInput } from '../../gateway/explain/explain-plan.js';
import { parseExplainOptions } from '../../gateway/explain/explain-options.js';
import { applyMask, patchGroups } from '../../gateway/explain/feature-groups.js';
import { inputLayout } from '../../gateway/explain/input-layout.js';
import { fitShapley, sampleCoalitions, seededRandom } from '../../gateway/explain/kernel-shap.js';
import { modelConfigSchema } from '../../workers/repository/model-config.js';

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};
const vectorSpec = (width: number) => ({ name: 'v', datatype: 'FP32' as const, shape: [width] });
const imageSpec = { name: 'img', datatype: 'FP32' as const, shape: [3, 48, 192] };

describe('KernelSHAP', () => {
  it('recovers w·x for a linear function of the coalition, with the efficiency constraint exact', () => {
    const x = [0.5, -1, 2, 0.25, 3, -0.5, 1.5, 0.75, -2, 1];
    const w = [1, 0, 2, 0, 0, -1, 0, 0, 0.5, 0];
    const coalitions = sampleCoalitions(10, 300, seededRandom(3));
    const value = (z: Uint8Array): number => z.reduce((sum, kept, j) => sum + (kept ? w[j]! * x[j]! : 0), 0);
    const full = value(new Uint8Array(10).fill(1));
    const phi = fitShapley(coalitions, coalitions.map(value), 0, full);
    phi.forEach((p, j) => expect(p).toBeCloseTo(w[j]! * x[j]!, 4));
    expect(phi.reduce((a, b) => a + b, 0)).toBeCloseTo(full, 9);
  });

  it('samples coalitions of sizes 1 to M−1, the same ones for the same seed', () => {
    const a = sampleCoalitions(12, 200, seededRandom(9));
    const b = sampleCoalitions(12, 200, seededRandom(9));
    expect(a).toEqual(b);
    for (const z of a) {
      const size = z.reduce((s, v) => s + v, 0);
      expect(size).toBeGreaterThanOrEqual(1);
      expect(size).toBeLessThanOrEqual(11);
    }
  });
});

describe('patches and baselines', () => {
  it('covers every pixel, with a last patch flush with the edge', () => {
    const groups = patchGroups({ channels: 1, height: 32, width: 32, layout: 'NCHW' }, 5, 5);
    expect(groups.shape).toEqual([7, 7]);
    const covered = new Set(groups.members.flatMap((m) => Array.from(m)));
    expect(covered.size).toBe(32 * 32);
  });

  it('sets masked groups to the baseline, all channels of a patch (NHWC too)', () => {
    const image = { channels: 3, height: 4, width: 4, layout: 'NHWC' as const };
    const groups = patchGroups(image, 2, 2);
    const row = Float32Array.from({ length: 48 }, (_, i) => i + 1);
    const out = new Float32Array(48);
    applyMask(row, new Float32Array(48), groups, [0], out);
    expect(out.filter((v) => v === 0)).toHaveLength(12);
    expect([out[0], out[1], out[2], out[3], out[12], out[15]]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('means per channel for images, blur only for images', () => {
    const layout = inputLayout({ name: 'img', datatype: 'FP32', shape: [3, 1, 2] } as never);
    expect(layout.kind).toBe('image');
    const row = Float32Array.from([1, 1, 5, 5, 7, 9]);
    expect(Array.from(baselineRow('mean', layout, row, 1))).toEqual([1, 1, 5, 5, 8, 8]);
    expect(codeOf(() => baselineRow('blur', inputLayout(vectorSpec(4) as never), new Float32Array(4), 1))).toBe('explain_unsupported');
  });
});

describe('planning an explanation', () => {
  it('defaults by input kind', () => {
    const image = planInput(inputLayout(imageSpec as never), {});
    expect(image).toMatchObject({ method: 'occlusion', baseline: 'mean', patch: { size: 6, stride: 6 }, rowsPerRow: 8 * 32 });
    expect(image.groups.shape).toEqual([8, 32]);
    expect(planInput(inputLayout(vectorSpec(64) as never), {})).toMatchObject({ method: 'ablation', baseline: 'zeros', rowsPerRow: 64 });
    expect(planInput(inputLayout(vectorSpec(512) as never), { samples: 300 })).toMatchObject({
      method: 'kernel_shap',
      samples: 300,
      rowsPerRow: 301,
    });
    // Wide vectors are grouped in contiguous runs for KernelSHAP.
    expect(planInput(inputLayout(vectorSpec(512) as never), { method: 'kernel_shap' }).groups.shape).toEqual([128]);
  });

  it('refuses what it cannot explain with explain_unsupported', () => {
    expect(codeOf(() => inputLayout({ name: 't', datatype: 'BYTES', shape: [1] } as never))).toBe('explain_unsupported');
    expect(codeOf(() => inputLayout({ name: 'seq', datatype: 'FP32', shape: [-1] } as never))).toBe('explain_unsupported');
    expect(codeOf(() => inputLayout({ name: 'ids', datatype: 'INT64', shape: [16] } as never))).toBe('explain_unsupported');
    expect(codeOf(() => inputLayout({ name: 'deep', datatype: 'FP32', shape: [2, 3, 4, 5] } as never))).toBe('explain_unsupported');
    expect(codeOf(() => planInput(inputLayout(vectorSpec(8) as never), { method: 'occlusion' }))).toBe('explain_unsupported');
    expect(codeOf(() => planInput(inputLayout(imageSpec as never), { method: 'kernel_shap', patch_size: 2 }))).toBe('explain_unsupported');
  });

  it('counts rows against max_explain_rows, every input and row included', () => {
    const config = modelConfigSchema.parse({
      name: 'two',
      platform: 'onnx',
      versions: { '1': { weights: { source: 'file', path: 'm.onnx' } } },
      max_batch_size: 8,
      inputs: [vectorSpec(10), { ...vectorSpec(20), name: 'w' }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [1] }],
      price: { usd_per_compute_second: 0 },
      max_explain_rows: 90,
    });
    expect(planExplanation(config, {}, 3).totalRows).toBe(90);
    expect(codeOf(() => planExplanation(config, {}, 4))).toBe('explain_too_many_rows');
  });

  it('names the bad option', () => {
    expect(() => parseExplainOptions({ samples: 2 })).toThrow(/parameters\.explain\.samples/);
    expect(codeOf(() => parseExplainOptions({ nope: 1 }))).toBe('invalid_parameter');
    expect(codeOf(() => parseExplainOptions('yes'))).toBe('invalid_parameter');
  });
});
