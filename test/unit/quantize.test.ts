import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildMlp } from '../../models/build/mlp.js';
import { decodeModel, encodeModel, floatInitializer, ONNX_FLOAT, valueInfo } from '../../models/onnx/onnx-model.js';
import { sampleSets, type Sample } from '../../models/quantize/calibration-inputs.js';
import { readNpy, writeNpy } from '../../models/quantize/npy.js';
import { quantizeModel } from '../../models/quantize/quantize-model.js';
import { parseQuantizeArgs } from '../../models/quantize/quantize-cli.js';
import { modelConfigSchema } from '../../workers/repository/model-config.js';
import { buildIdentityModel } from '../helpers/identity-model.js';

const SMALL_MLP = { layers: [16, 32, 32, 4], seed: 7, inputName: 'input', outputName: 'probabilities' };
const mlpConfig = modelConfigSchema.parse({
  name: 'small',
  platform: 'onnx',
  versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
  max_batch_size: 8,
  inputs: [{ name: 'input', datatype: 'FP32', shape: [16] }],
  outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [4] }],
  price: { usd_per_compute_second: 0.001 },
});

/** Conv(3->8, 3x3) -> Relu -> Conv(8->4, 1x1) over a [1,3,8,8] image: a small static-mode subject. */
function buildConvNet(): Uint8Array {
  let seed = 3;
  const random = (n: number): Float32Array =>
    Float32Array.from({ length: n }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.5);
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'convnet',
      node: [
        {
          opType: 'Conv',
          name: 'conv1',
          input: ['image', 'w1', 'b1'],
          output: ['c1'],
          attribute: [{ name: 'pads', type: 7, ints: [1, 1, 1, 1] }],
        },
        { opType: 'Relu', name: 'relu', input: ['c1'], output: ['r1'] },
        { opType: 'Conv', name: 'conv2', input: ['r1', 'w2', 'b2'], output: ['features'] },
      ],
      initializer: [
        floatInitializer('w1', [8, 3, 3, 3], random(216)),
        floatInitializer('b1', [8], random(8)),
        floatInitializer('w2', [4, 8, 1, 1], random(32)),
        floatInitializer('b2', [4], random(4)),
      ],
      input: [valueInfo('image', ONNX_FLOAT, ['batch', 3, 8, 8])],
      output: [valueInfo('features', ONNX_FLOAT, ['batch', 4, 8, 8])],
    },
  });
}

async function run(bytes: Uint8Array, feed: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const output = (await session.run(feed))[session.outputNames[0]!]!.data as Float32Array;
  await session.release();
  return output;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => a.reduce((worst, value, i) => Math.max(worst, Math.abs(value - b[i]!)), 0);

/**
 * The largest |level| among a model's int8 initializers (the weights and their zero points).
 * x86 int8 kernels without VNNI add pairs of uint8 x int8 products into a saturating int16,
 * so two products must fit: 2 x 255 x level <= 32,767.
 */
function largestInt8Level(bytes: Uint8Array): number {
  const tensors = decodeModel(bytes).graph!.initializer!.filter((tensor) => tensor.dataType === 3);
  expect(tensors.length).toBeGreaterThan(0);
  return Math.max(
    ...tensors.flatMap(({ rawData }) => Array.from(new Int8Array(rawData!.buffer, rawData!.byteOffset, rawData!.byteLength), Math.abs)),
  );
}
const INT16_MAX = 32_767;

describe('dynamic quantization', () => {
  it('turns MatMul/Gemm weights into int8 DynamicQuantizeMatMul, keeps the output layer fp32, and stays close', async () => {
    const fp32 = buildMlp(SMALL_MLP);
    const { bytes, outcome } = await quantizeModel(fp32, { mode: 'dynamic' });
    const model = decodeModel(bytes);
    const ops = model.graph!.node!.map((node) => `${node.domain || ''}:${node.opType}`);
    expect(ops.filter((op) => op === 'com.microsoft:DynamicQuantizeMatMul')).toHaveLength(2);
    expect(ops).toContain(':Gemm');
    expect(outcome.quantized).toEqual({ Gemm: 2 });
    expect(outcome.leftInFp32.map((entry) => entry.node)).toEqual(['gemm2']);
    expect(model.opsetImport!.map((entry) => entry.domain)).toContain('com.microsoft');
    expect(model.graph!.initializer!.filter((tensor) => tensor.dataType === 3).map((tensor) => tensor.dims!.map(Number))).toEqual([
      [16, 32],
      [32, 32],
    ]);
    // 7-bit weights: no uint8 x int8 pair saturates on any x86 CPU, so "close" holds on all of them.
    expect(largestInt8Level(bytes)).toBe(64);
    expect(2 * 255 * largestInt8Level(bytes)).toBeLessThanOrEqual(INT16_MAX);
    const { evaluation } = await sampleSets(mlpConfig, 'random');
    for (const sample of evaluation.slice(0, 50))
      expect(maxAbsDiff(await run(fp32, sample.feed), await run(bytes, sample.feed))).toBeLessThan(0.02);
  });

  it('keeps 7-bit weights with error feedback too (calibrated rounding never pushes a level past 64)', async () => {
    const { evaluation } = await sampleSets(mlpConfig, 'random');
    const { bytes, outcome } = await quantizeModel(buildMlp(SMALL_MLP), { mode: 'dynamic', calibration: evaluation.slice(0, 64) });
    expect(outcome.errorFeedback).toEqual(['gemm0', 'gemm1']);
    expect(largestInt8Level(bytes)).toBeLessThanOrEqual(64);
  });

  it('keeps fields it does not touch: metadata, doc strings, value_info', async () => {
    const model = decodeModel(buildMlp(SMALL_MLP));
    model.docString = 'the demo';
    model.metadataProps = [{ key: 'owner', value: 'switchyard' }];
    model.graph!.docString = 'graph doc';
    model.graph!.node![1]!.docString = 'relu doc';
    model.graph!.valueInfo = [valueInfo('gemm0', ONNX_FLOAT, ['batch', 32])];
    const { bytes } = await quantizeModel(encodeModel(model), { mode: 'dynamic' });
    const out = decodeModel(bytes);
    expect(out.docString).toBe('the demo');
    expect(out.metadataProps).toEqual([{ key: 'owner', value: 'switchyard' }]);
    expect(out.graph!.docString).toBe('graph doc');
    expect(out.graph!.node!.find((node) => node.name === 'relu0')!.docString).toBe('relu doc');
    expect(out.graph!.valueInfo!.map((info) => info.name)).toEqual(['gemm0']);
  });
});

describe('static quantization (QDQ)', () => {
  it('puts int8 weights and calibrated Q/DQ pairs around each Conv, and stays close', async () => {
    const fp32 = buildConvNet();
    const feed = (seed: number): Sample => ({
      feed: {
        image: new ort.Tensor(
          'float32',
          Float32Array.from({ length: 192 }, (_, i) => Math.sin(i * 0.37 + seed)),
          [1, 3, 8, 8],
        ),
      },
    });
    const calibration = Array.from({ length: 16 }, (_, i) => feed(i));
    const { bytes, outcome } = await quantizeModel(fp32, { mode: 'static', calibration, quantizeOutputLayer: true });
    expect(outcome.quantized).toEqual({ Conv: 2 });
    const ops = decodeModel(bytes).graph!.node!.map((node) => node.opType);
    // Activations in and out of both Convs (the ReLU between them makes two tensors);
    // then per-channel weights and int32 biases behind DequantizeLinear.
    expect(ops.filter((op) => op === 'QuantizeLinear')).toHaveLength(4);
    expect(ops.filter((op) => op === 'DequantizeLinear')).toHaveLength(4 + 2 + 2);
    expect(2 * 255 * largestInt8Level(bytes)).toBeLessThanOrEqual(INT16_MAX);
    // Held-out inputs (other seeds): int8 error is a few quantization steps at most.
    for (const seed of [100, 101, 102]) {
      const { feed: input } = feed(seed);
      const reference = await run(fp32, input);
      const range = Math.max(...reference) - Math.min(...reference);
      expect(maxAbsDiff(reference, await run(bytes, input))).toBeLessThan(range * 0.05);
    }
  });
});

describe('what the tool refuses', () => {
  it('a file that does not load, a model with nothing to quantize, static without calibration', async () => {
    await expect(quantizeModel(new Uint8Array([1, 2, 3, 4]), { mode: 'dynamic' })).rejects.toThrow(
      /does not load in onnxruntime, so it cannot be quantized/,
    );
    const identity = buildIdentityModel([{ name: 'x', datatype: 'FP32', dims: ['batch', 4] }]);
    await expect(quantizeModel(identity, { mode: 'dynamic' })).rejects.toThrow(
      /nothing in this model can be quantized in dynamic mode \(no MatMul, Gemm or Conv with constant weights\)/,
    );
    await expect(quantizeModel(buildMlp(SMALL_MLP), { mode: 'static' })).rejects.toThrow('static quantization needs calibration inputs');
  });

  it('lists the patterns it leaves in fp32, with the reason', async () => {
    const model = decodeModel(buildMlp(SMALL_MLP));
    model.graph!.node![0]!.attribute = [{ name: 'alpha', type: 1, f: 0.5 }];
    const { outcome } = await quantizeModel(encodeModel(model), { mode: 'dynamic' });
    expect(outcome.leftInFp32).toContainEqual({ node: 'gemm0', op: 'Gemm', reason: 'Gemm with alpha or beta other than 1' });
  });

  it('command-line mistakes are named', () => {
    expect(() => parseQuantizeArgs([])).toThrow(/name one model/);
    expect(() => parseQuantizeArgs(['m', '--mode', 'fancy'])).toThrow('--mode is dynamic or static, not "fancy"');
    expect(() => parseQuantizeArgs(['m', '--version', 'latest'])).toThrow('--version is a version number, not "latest"');
    expect(parseQuantizeArgs(['m', '--mode', 'static', '--calibration', 'text-lines'])).toMatchObject({
      model: 'm',
      mode: 'static',
      calibration: 'text-lines',
    });
    expect(parseQuantizeArgs(['m', '--mode', 'static', '--activations', 'int8'])).toMatchObject({ activations: 'int8' });
    expect(() => parseQuantizeArgs(['m', '--activations', 'int8'])).toThrow('--activations applies to --mode static');
    expect(() => parseQuantizeArgs(['m', '--mode', 'static', '--activations', 'int4'])).toThrow(
      '--activations is int8 or uint8, not "int4"',
    );
  });
});

describe('calibration folders of .npy files', () => {
  it('reads what it writes, and holds every fourth sample out for evaluation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-npy-'));
    try {
      for (let i = 0; i < 8; i += 1)
        writeFileSync(
          join(dir, `s${i}.input.npy`),
          writeNpy(
            [1, 16],
            Float32Array.from({ length: 16 }, (_, j) => i + j / 16),
          ),
        );
      const round = readNpy(writeNpy([2, 3], Float32Array.of(1, 2, 3, 4, 5, 6)), 'x.npy');
      expect(round).toEqual({ shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) });
      const sets = await sampleSets(mlpConfig, { dir });
      expect(sets.calibration).toHaveLength(6);
      expect(sets.evaluation).toHaveLength(2);
      expect(() => readNpy(new Uint8Array(16), 'bad.npy')).toThrow('bad.npy is not a .npy file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npm run quantize on a repository', () => {
  it('writes the int8 version and its config entry, keeps the default and every served version, saves the report; models:build remakes a missing file', async () => {
    const { TestRepository } = await import('../helpers/repository.js');
    const { runQuantize } = await import('../../models/quantize/quantize-cli.js');
    const { readModelDefinition } = await import('../../workers/repository/load-repository.js');
    const { buildMissingModels } = await import('../../models/build/build-models.js');
    const { defaultVersion, servedVersions } = await import('../../workers/repository/model-config.js');
    const { existsSync, readFileSync, unlinkSync } = await import('node:fs');
    const { name: _name, ...config } = mlpConfig;
    const repository = new TestRepository().add(
      'small',
      { ...config, warmup: { enabled: false } },
      { '1/model.onnx': buildMlp(SMALL_MLP) },
    );
    try {
      const lines: string[] = [];
      const report = await runQuantize(
        { repository: repository.dir, model: 'small', mode: 'dynamic', calibration: 'random', quantizeOutputLayer: false },
        (line) => lines.push(line),
      );
      expect(report).toMatchObject({ model: 'small', from_version: '1', version: '2', mode: 'dynamic' });
      expect(report.size.ratio).toBeGreaterThan(1);
      expect(report.speed.map((figure) => figure.batch)).toEqual([1, 32]);
      expect(report.accuracy.metric).toBe('top-1 agreement');
      expect(report.weights.range).toEqual([-64, 64]);
      const definition = await readModelDefinition(repository.dir, 'small');
      expect(definition.config.versions['2']).toEqual({
        weights: { source: 'quantized', from_version: '1', mode: 'dynamic', calibration: 'random', path: 'model.onnx' },
      });
      expect(servedVersions(definition.config)).toEqual(['2', '1']);
      expect(defaultVersion(definition.config)).toBe('1');
      const saved = JSON.parse(readFileSync(join(repository.dir, 'small', '2', 'quantization-report.json'), 'utf8')) as {
        size: { ratio: number };
      };
      expect(saved.size.ratio).toBe(report.size.ratio);
      expect(readFileSync(join(repository.dir, 'small', '2', 'quantization-report.md'), 'utf8')).toContain('top-1 agreement with fp32');
      const markdown = readFileSync(join(repository.dir, 'small', '2', 'quantization-report.md'), 'utf8');
      expect(markdown).toContain('int8 levels within [-64, 64] (7 bits): x86 CPUs without VNNI');
      expect(lines.join('\n')).toContain('now serves versions');

      unlinkSync(join(repository.dir, 'small', '2', 'model.onnx'));
      expect(await buildMissingModels(repository.dir, () => undefined)).toBe(1);
      expect(existsSync(join(repository.dir, 'small', '2', 'model.onnx'))).toBe(true);
    } finally {
      repository.remove();
    }
  }, 60_000);
});
