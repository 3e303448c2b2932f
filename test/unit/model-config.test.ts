import { afterEach, describe, expect, it } from 'vitest';
import { loadRepository } from '../../workers/repository/load-repository.js';
import { servedVersions, modelConfigSchema } from '../../workers/repository/model-config.js';
import { TestRepository } from '../helpers/repository.js';

const valid = {
  platform: 'onnx',
  versions: { '1': { weights: { source: 'file', path: 'model.onnx' } } },
  max_batch_size: 8,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [2] }],
  price: { usd_per_compute_second: 0.001 },
};

let repository: TestRepository | undefined;
afterEach(() => repository?.remove());

async function problemWith(config: Record<string, unknown>, folder = 'm'): Promise<string> {
  repository = new TestRepository().add(folder, { ...valid, ...config });
  try {
    await loadRepository(repository.dir);
  } catch (error) {
    return (error as Error).message;
  }
  return 'no error';
}

describe('model config validation', () => {
  it('accepts a valid config and fills defaults', async () => {
    repository = new TestRepository().add('m', valid);
    const [model] = await loadRepository(repository.dir);
    expect(model!.config.dynamic_batching).toEqual({
      preferred_batch_sizes: [],
      max_queue_delay_ms: 2,
      max_queue_size: 1024,
      default_timeout_ms: 30_000,
    });
    expect(model!.config.execution_providers).toEqual(['cuda', 'cpu']);
    expect(model!.config.cold_start).toEqual({ max_wait_ms: 120_000 });
  });

  it.each([
    [{ platform: 'pytorch' }, 'platform'],
    [{ max_batch_size: -1 }, 'max_batch_size'],
    [{ inputs: [{ name: 'x', datatype: 'FLOAT', shape: [4] }] }, 'inputs[0].datatype'],
    [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [0] }] }, 'inputs[0].shape[0]'],
    [{ dynamic_batching: { preferred_batch_sizes: [4, 16] } }, 'dynamic_batching.preferred_batch_sizes[1]'],
    [{ versions: { '1': { weights: { source: 'hub', path: 'x' } } } }, 'versions.1.weights.source'],
    [{ versions: { v1: { weights: { source: 'file', path: 'x' } } } }, 'versions.v1'],
    [{ version_policy: { specific: { versions: [2] } } }, 'version_policy.specific.versions[0]'],
    [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }] }, 'warmup.dims.x'],
    [{ inputs: [{ name: 'x', datatype: 'BF16', shape: [4] }] }, 'inputs[0].datatype'],
    [
      {
        outputs: [
          { name: 'y', datatype: 'FP32', shape: [2] },
          { name: 'y', datatype: 'FP32', shape: [2] },
        ],
      },
      'outputs[1].name',
    ],
    [{ price: undefined }, 'price'],
    [{ surprise: true }, ''],
    [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [4], audio: { sample_rate: 16000 } }] }, 'inputs[0].audio'],
    [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [4], image: { width: 4, height: 4 } }] }, 'inputs[0].image'],
    [{ cold_start: { max_wait_ms: -1 } }, 'cold_start.max_wait_ms'],
    [{ cold_start: { max_wait_ms: 1.5 } }, 'cold_start.max_wait_ms'],
    [{ cold_start: { max_wait: 1000 } }, 'cold_start'],
  ])('rejects %j naming the file and the field "%s"', async (override, field) => {
    const message = await problemWith(override);
    expect(message).toContain(`${repository!.dir}/m/config.json`);
    expect(message).toContain(`config.json: ${field}`);
  });

  it('rejects a name that differs from the folder', async () => {
    expect(await problemWith({ name: 'other' })).toMatch(/config\.json: name: "other" must match its folder name "m"/);
  });

  it('rejects a file that is not JSON', async () => {
    repository = new TestRepository().add('m', valid, { 'config.json': '{ not json' });
    await expect(loadRepository(repository.dir)).rejects.toThrow(/m\/config\.json: is not valid JSON/);
  });

  it('applies version policies', () => {
    const config = (policy: unknown) =>
      modelConfigSchema.parse({
        ...valid,
        name: 'm',
        versions: { '1': valid.versions['1'], '2': valid.versions['1'], '3': valid.versions['1'] },
        version_policy: policy,
      });
    expect(servedVersions(config({ latest: { num_versions: 2 } }))).toEqual(['3', '2']);
    expect(servedVersions(config({ specific: { versions: [1, 3] } }))).toEqual(['3', '1']);
    expect(servedVersions(config({ all: {} }))).toEqual(['3', '2', '1']);
  });

  it('every shipped model config is valid', async () => {
    const models = await loadRepository(new URL('../../models', import.meta.url).pathname);
    expect(models.map((m) => m.name)).toEqual([
      'emotion',
      'explain-linear',
      'explain-quadrant',
      'image-safety',
      'mlp-classifier',
      'silero-vad',
      'text-detector',
      'text-direction',
      'text-recognizer',
    ]);
  });
});

describe('TF models, pools and grayscale images', () => {
  const onnx = { ...valid, name: 'm' };
  const tf = { ...onnx, platform: 'tf', versions: { '1': { weights: { source: 'file', path: 'model.json' } } } };

  it('defaults the pool to the platform and a TF format to graph', () => {
    expect(modelConfigSchema.parse(onnx)).toMatchObject({ pool: 'onnx', format: undefined });
    expect(modelConfigSchema.parse(tf)).toMatchObject({ pool: 'tf', format: 'graph' });
    expect(modelConfigSchema.parse({ ...tf, format: 'layers', pool: 'tf-gpu' })).toMatchObject({ pool: 'tf-gpu', format: 'layers' });
  });

  it.each([
    [{ ...onnx, format: 'graph' }, 'format applies to platform tf only'],
    [{ ...tf, format: 'keras' }, 'Invalid option'],
    [{ ...tf, inputs: [{ name: 'x', datatype: 'INT64', shape: [4] }] }, 'the TF runtime takes FP32, INT32, BOOL tensors'],
    [{ ...onnx, pool: 'gpu pool' }, 'letters, digits'],
  ])('refuses %j', (config, message) => {
    const parsed = modelConfigSchema.safeParse(config);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.message).toContain(message);
  });

  it('takes one-channel images: shape [h,w,1] (NHWC) or [1,h,w] (NCHW), one mean and std', () => {
    const image = { width: 4, height: 2, channels: 1, layout: 'NHWC', mean: [0.5], std: [0.5] };
    const parsed = modelConfigSchema.parse({ ...onnx, inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4, 1], image }] });
    expect(parsed.inputs[0]!.image).toMatchObject({ channels: 1, mean: [0.5], std: [0.5] });
    expect(
      modelConfigSchema.parse({
        ...onnx,
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2, 4], image: { width: 4, height: 2, channels: 1 } }],
      }).inputs[0]!.image,
    ).toMatchObject({ mean: [0], std: [1] });
    const wrongShape = modelConfigSchema.safeParse({ ...onnx, inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4, 3], image }] });
    expect(wrongShape.error?.issues[0]?.message).toContain('[2,4,1]');
    const wrongMean = modelConfigSchema.safeParse({
      ...onnx,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4, 1], image: { ...image, mean: [0, 0, 0] } }],
    });
    expect(wrongMean.error?.issues[0]?.message).toBe('mean and std hold one value per channel');
  });
});
