import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ATTRIBUTE_INTS, ONNX_FLOAT, decodeModel, encodeModel, floatInitializer, valueInfo } from '../../models/onnx/onnx-model.js';
import type { Sample } from '../../models/quantize/calibration-inputs.js';
import { quantizeModel } from '../../models/quantize/quantize-model.js';

const values = (count: number, seed: number, scale: number): Float32Array =>
  Float32Array.from({ length: count }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * scale);
const pads = { name: 'pads', type: ATTRIBUTE_INTS, ints: [1, 1, 1, 1] };

/**
 * Conv -> written-out hard-swish (x * Clip(x + 3, 0, 6) / 6) -> Add a scalar -> Conv,
 * PP-OCRv4's block in small: the hard-swish and the Add sit between two quantized Convs.
 */
function hardSwishNet(): Uint8Array {
  return encodeModel({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 9 }],
    graph: {
      name: 'hard-swish-net',
      node: [
        { opType: 'Conv', input: ['image', 'w1', 'b1'], output: ['c1'], attribute: [pads] },
        { opType: 'Add', input: ['c1', 'three'], output: ['a'] },
        {
          opType: 'Clip',
          input: ['a'],
          output: ['clipped'],
          attribute: [
            { name: 'min', type: 1, f: 0 },
            { name: 'max', type: 1, f: 6 },
          ],
        },
        { opType: 'Mul', input: ['c1', 'clipped'], output: ['m'] },
        { opType: 'Div', input: ['m', 'six'], output: ['hs'] },
        { opType: 'Add', input: ['hs', 'shift'], output: ['shifted'] },
        { opType: 'Conv', input: ['shifted', 'w2', 'b2'], output: ['features'], attribute: [pads] },
      ],
      initializer: [
        floatInitializer('w1', [8, 3, 3, 3], values(216, 1, 0.6)),
        floatInitializer('b1', [8], values(8, 2, 0.5)),
        floatInitializer('three', [], Float32Array.of(3)),
        floatInitializer('six', [], Float32Array.of(6)),
        floatInitializer('shift', [], Float32Array.of(-0.25)),
        floatInitializer('w2', [4, 8, 3, 3], values(288, 3, 0.3)),
        floatInitializer('b2', [4], values(4, 4, 0.1)),
      ],
      input: [valueInfo('image', ONNX_FLOAT, ['batch', 3, 8, 8])],
      output: [valueInfo('features', ONNX_FLOAT, ['batch', 4, 8, 8])],
    },
  });
}

const sample = (seed: number): Sample => ({ feed: { image: new ort.Tensor('float32', values(192, seed, 2), [1, 3, 8, 8]) } });

async function run(bytes: Uint8Array, feed: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const output = (await session.run(feed)).features!.data as Float32Array;
  await session.release();
  return output;
}

describe('static quantization between Convs', () => {
  it('keeps hard-swish and the Add 8-bit, so onnxruntime runs no fp32 op between the Convs, and stays close', async () => {
    const fp32 = hardSwishNet();
    const { bytes, outcome } = await quantizeModel(fp32, {
      mode: 'static',
      calibration: Array.from({ length: 16 }, (_, i) => sample(i)),
      quantizeOutputLayer: true,
    });
    expect(outcome.quantized).toMatchObject({ Conv: 2, HardSigmoid: 1, Mul: 1, Add: 1 });
    // 7-bit weights: 2 x 255 x 64 fits the int16 that x86 kernels without VNNI add uint8 x int8 pairs into.
    const weights = decodeModel(bytes).graph!.initializer!.filter((tensor) => tensor.dataType === 3 && tensor.dims!.length > 1);
    expect(weights).toHaveLength(2);
    for (const { rawData } of weights) {
      const levels = new Int8Array(rawData!.buffer, rawData!.byteOffset, rawData!.byteLength);
      expect(Math.max(...Array.from(levels, Math.abs))).toBeLessThanOrEqual(64);
    }

    const dir = mkdtempSync(join(tmpdir(), 'qdq-'));
    try {
      const optimizedModelFilePath = join(dir, 'optimized.onnx');
      await (await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'extended', optimizedModelFilePath })).release();
      const ops = decodeModel(readFileSync(optimizedModelFilePath)).graph!.node!.map((node) => node.opType);
      expect(ops.filter((op) => op === 'QLinearConv')).toHaveLength(2);
      expect(ops).toEqual(expect.arrayContaining(['QLinearLeakyRelu', 'QLinearMul', 'QLinearAdd']));
      for (const fp32Op of ['Conv', 'Mul', 'Add', 'HardSigmoid', 'Clip', 'Div']) expect(ops).not.toContain(fp32Op);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    for (const seed of [100, 101, 102]) {
      const { feed } = sample(seed);
      const reference = await run(fp32, feed);
      const range = Math.max(...reference) - Math.min(...reference);
      const int8 = await run(bytes, feed);
      expect(reference.reduce((worst, value, i) => Math.max(worst, Math.abs(value - int8[i]!)), 0)).toBeLessThan(range * 0.05);
    }
  });
});
