import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  ATTRIBUTE_FLOAT,
  ATTRIBUTE_INTS,
  ONNX_FLOAT,
  decodeModel,
  encodeModel,
  floatInitializer,
  valueInfo,
} from '../../models/onnx/onnx-model.js';
import type { NodeProto, TensorProto } from '../../models/onnx/onnx-model.js';
import { foldConvAffine } from '../../models/quantize/fold-conv-affine.js';
import { fuseHardSwish } from '../../models/quantize/fuse-hard-swish.js';
import { fuseForQuantization } from '../../models/quantize/graph-fusions.js';
import { editable, type ModelMessage } from '../../models/quantize/onnx-types.js';

const SHAPE = [2, 3, 5, 5];
const values = (count: number, seed: number, scale = 2): Float32Array =>
  Float32Array.from({ length: count }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * scale);

/** A model y = f(x) over x [2,3,5,5] at opset 9 (Clip bounds as attributes), with the given nodes and constants. */
function model(nodes: NodeProto[], initializers: TensorProto[], extraOutputs: string[] = []): ModelMessage {
  const bytes = encodeModel({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 9 }],
    graph: {
      name: 'fusion-test',
      node: nodes,
      initializer: initializers,
      input: [valueInfo('x', ONNX_FLOAT, SHAPE)],
      output: ['y', ...extraOutputs].map((name) => valueInfo(name, ONNX_FLOAT, [])),
    },
  });
  return editable(decodeModel(bytes));
}

async function run(m: ModelMessage): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(encodeModel(m), { graphOptimizationLevel: 'disabled' });
  const x = new ort.Tensor(
    'float32',
    values(
      SHAPE.reduce((a, b) => a * b),
      7,
    ),
    SHAPE,
  );
  const y = (await session.run({ x })).y!.data as Float32Array;
  await session.release();
  return y;
}

const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((worst, v, i) => Math.max(worst, Math.abs(v - b[i]!)), 0);
const ops = (m: ModelMessage): string[] => m.graph.node.map((node) => node.opType ?? '');
const conv: NodeProto = {
  opType: 'Conv',
  input: ['x', 'w'],
  output: ['c'],
  attribute: [{ name: 'pads', type: ATTRIBUTE_INTS, ints: [1, 1, 1, 1] }],
};
// Small weights keep outputs near 1, so 1e-5 measures the fold, not fp32 rounding of large values.
const weight = floatInitializer('w', [4, 3, 3, 3], values(108, 1, 0.1));

describe('foldConvAffine', () => {
  it('folds Conv -> Mul(per-channel) -> Add(scalar) into the Conv, with the same outputs', async () => {
    const build = (): ModelMessage =>
      model(
        [conv, { opType: 'Mul', input: ['s', 'c'], output: ['m'] }, { opType: 'Add', input: ['m', 'b'], output: ['y'] }],
        [weight, floatInitializer('s', [1, 4, 1, 1], Float32Array.of(0.5, -2, 3, 0.1)), floatInitializer('b', [1], Float32Array.of(0.25))],
      );
    const fused = build();
    expect(foldConvAffine(fused.graph)).toBe(2);
    expect(ops(fused)).toEqual(['Conv']);
    expect(maxDiff(await run(fused), await run(build()))).toBeLessThan(1e-5);
  });

  it('folds an inference BatchNormalization after a Conv', async () => {
    const build = (): ModelMessage =>
      model(
        [
          conv,
          {
            opType: 'BatchNormalization',
            input: ['c', 'g', 'be', 'mu', 'var'],
            output: ['y'],
            attribute: [{ name: 'epsilon', type: ATTRIBUTE_FLOAT, f: 1e-5 }],
          },
        ],
        [
          weight,
          ...['g', 'be', 'mu'].map((name, i) => floatInitializer(name, [4], values(4, i + 2))),
          floatInitializer('var', [4], Float32Array.of(0.5, 1, 2, 4)),
        ],
      );
    const fused = build();
    expect(foldConvAffine(fused.graph)).toBe(1);
    expect(ops(fused)).toEqual(['Conv']);
    expect(maxDiff(await run(fused), await run(build()))).toBeLessThan(1e-5);
  });

  it('leaves a Mul whose other operand is not a constant', () => {
    const m = model(
      [conv, { opType: 'Mul', input: ['c', 'x2'], output: ['y'] }, { opType: 'Relu', input: ['x'], output: ['x2'] }],
      [weight],
    );
    expect(foldConvAffine(m.graph)).toBe(0);
  });

  it('leaves the affine when the Conv output has a second reader', () => {
    const m = model(
      [conv, { opType: 'Mul', input: ['c', 's'], output: ['y'] }, { opType: 'Relu', input: ['c'], output: ['r'] }],
      [weight, floatInitializer('s', [1], Float32Array.of(2))],
      ['r'],
    );
    expect(foldConvAffine(m.graph)).toBe(0);
  });

  it('leaves a [C] constant, which broadcasts along the last axis, not the channels', () => {
    const m = model([conv, { opType: 'Mul', input: ['c', 's'], output: ['y'] }], [weight, floatInitializer('s', [4], values(4, 9))]);
    expect(foldConvAffine(m.graph)).toBe(0);
  });
});

describe('fuseHardSwish', () => {
  const scalars = [floatInitializer('three', [1], Float32Array.of(3)), floatInitializer('six', [1], Float32Array.of(6))];
  const clip: NodeProto = {
    opType: 'Clip',
    input: ['p'],
    output: ['q'],
    attribute: [
      { name: 'min', type: ATTRIBUTE_FLOAT, f: 0 },
      { name: 'max', type: ATTRIBUTE_FLOAT, f: 6 },
    ],
  };
  const addThree: NodeProto = { opType: 'Add', input: ['x', 'three'], output: ['p'] };

  for (const [order, tail] of [
    [
      'Mul then Div',
      [
        { opType: 'Mul', input: ['x', 'q'], output: ['r'] },
        { opType: 'Div', input: ['r', 'six'], output: ['y'] },
      ],
    ],
    [
      'Div then Mul',
      [
        { opType: 'Div', input: ['q', 'six'], output: ['r'] },
        { opType: 'Mul', input: ['r', 'x'], output: ['y'] },
      ],
    ],
  ] as const) {
    it(`rewrites x * Clip(x + 3, 0, 6) / 6 (${order}) into HardSigmoid + Mul, with the same outputs`, async () => {
      const build = (): ModelMessage => model([addThree, clip, ...tail], scalars);
      const fused = build();
      expect(fuseHardSwish(fused.graph)).toBe(1);
      expect(ops(fused)).toEqual(['HardSigmoid', 'Mul']);
      expect(maxDiff(await run(fused), await run(build()))).toBeLessThan(1e-5);
    });
  }

  it('moves a following scalar Mul in front, where it folds into the Conv that produces x', async () => {
    const build = (): ModelMessage =>
      model(
        [
          { ...conv, output: ['x1'] },
          { opType: 'Add', input: ['x1', 'three'], output: ['p'] },
          { ...clip },
          { opType: 'Mul', input: ['x1', 'q'], output: ['r'] },
          { opType: 'Div', input: ['r', 'six'], output: ['h'] },
          { opType: 'Mul', input: ['a', 'h'], output: ['y'] },
        ],
        [weight, ...scalars, floatInitializer('a', [1], Float32Array.of(-0.75))],
      );
    const fused = build();
    expect(fuseForQuantization(fused.graph)).toEqual({ hardSwish: 1, convAffine: 1 });
    expect(ops(fused)).toEqual(['Conv', 'HardSigmoid', 'Mul']);
    expect(maxDiff(await run(fused), await run(build()))).toBeLessThan(1e-5);
  });

  it('leaves a Clip whose bounds are not 0 and 6', () => {
    const m = model(
      [
        addThree,
        {
          ...clip,
          attribute: [
            { name: 'min', type: ATTRIBUTE_FLOAT, f: 0 },
            { name: 'max', type: ATTRIBUTE_FLOAT, f: 5 },
          ],
        },
        { opType: 'Mul', input: ['x', 'q'], output: ['r'] },
        { opType: 'Div', input: ['r', 'six'], output: ['y'] },
      ],
      scalars,
    );
    expect(fuseHardSwish(m.graph)).toBe(0);
  });
});
