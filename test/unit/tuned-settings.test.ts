import { describe, expect, it } from 'vitest';
import { cpuKey, gpuKey, hardwareKeys, measuredKey, type Hardware } from '../../workers/pool/hardware.js';
import { servingSettings } from '../../workers/pool/serving-settings.js';
import { modelConfigSchema } from '../../workers/repository/model-config.js';

const block = (instances: number, batch: number, provider = 'cpu') => ({
  instance_count: instances,
  intra_op_threads: 1,
  max_batch_size: batch,
  preferred_batch_sizes: [],
  max_queue_delay_ms: 0,
  provider,
});

const CPU = cpuKey('AMD EPYC 7B13 64-Core Processor', 2);
const GPU = gpuKey('NVIDIA H100 80GB HBM3');

const base = {
  name: 'm',
  platform: 'onnx',
  versions: { '1': { weights: { source: 'file', path: 'model.onnx' } }, '2': { weights: { source: 'file', path: 'model.onnx' } } },
  max_batch_size: 16,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [2] }],
  dynamic_batching: { preferred_batch_sizes: [4, 16], max_queue_delay_ms: 10 },
  price: { usd_per_compute_second: 0.001 },
  tuned: { [CPU]: { '1': block(2, 1) }, [GPU]: { '1': block(1, 16, 'cuda') } },
};
const parse = (overrides: Record<string, unknown> = {}) => modelConfigSchema.parse({ ...base, ...overrides });

const cpuMachine: Hardware = { cpu: CPU, gpus: [] };
const gpuMachine: Hardware = { cpu: CPU, gpus: [GPU] };

describe('hardware keys', () => {
  it('name the CPU model and core count, or the GPU, with padding collapsed', () => {
    expect(cpuKey('  Intel(R) Xeon(R)   CPU @ 2.20GHz ', 8)).toBe('cpu:Intel(R) Xeon(R) CPU @ 2.20GHz x8');
    expect(gpuKey('NVIDIA  H100 80GB HBM3')).toBe(GPU);
  });

  it('look up the GPU first where the model may use it, else the CPU alone', () => {
    expect(hardwareKeys(parse(), gpuMachine)).toEqual([GPU, CPU]);
    expect(hardwareKeys(parse(), cpuMachine)).toEqual([CPU]);
    expect(hardwareKeys(parse({ instance_group: { kind: 'cpu' } }), gpuMachine)).toEqual([CPU]);
    expect(hardwareKeys(parse({ execution_providers: ['cpu'] }), gpuMachine)).toEqual([CPU]);
  });

  it('file a measurement under the GPU only when the instances ran on it', () => {
    expect(measuredKey(parse(), gpuMachine, 'cuda')).toBe(GPU);
    expect(measuredKey(parse(), gpuMachine, 'cpu')).toBe(CPU);
    expect(measuredKey(parse(), cpuMachine, 'cpu')).toBe(CPU);
  });
});

describe('servingSettings', () => {
  it('uses the block for this machine and version', () => {
    expect(servingSettings(parse(), '1', cpuMachine, 2)).toMatchObject({
      instanceCount: 2,
      intraOpThreads: 1,
      maxBatchSize: 1,
      tunedFor: CPU,
    });
    expect(servingSettings(parse(), '1', gpuMachine, 2)).toMatchObject({
      instanceCount: 1,
      maxBatchSize: 16,
      tunedFor: GPU,
      tunedProvider: 'cuda',
    });
  });

  it('falls back to the hand-written settings on other hardware, other core counts and untuned versions', () => {
    const handWritten = {
      instanceCount: 1,
      intraOpThreads: 2,
      maxBatchSize: 16,
      preferredBatchSizes: [4, 16],
      maxQueueDelayMs: 10,
      tunedFor: undefined,
    };
    expect(servingSettings(parse(), '1', { cpu: cpuKey('Intel(R) Xeon(R) CPU @ 2.20GHz', 2), gpus: [] }, 2)).toMatchObject(handWritten);
    const moreCores = { cpu: cpuKey('AMD EPYC 7B13 64-Core Processor', 4), gpus: [] };
    expect(servingSettings(parse(), '1', moreCores, 4)).toMatchObject({ ...handWritten, intraOpThreads: 4 });
    expect(servingSettings(parse(), '2', cpuMachine, 2)).toMatchObject(handWritten);
  });

  it('on a GPU node without a block for its GPU, uses its CPU block', () => {
    const config = parse({ tuned: { [CPU]: { '1': block(2, 1) } } });
    expect(servingSettings(config, '1', gpuMachine, 2)).toMatchObject({ tunedFor: CPU });
  });
});

describe('tuned blocks in the config schema', () => {
  const problem = (tuned: unknown, overrides: Record<string, unknown> = {}): string => {
    const result = modelConfigSchema.safeParse({ ...base, ...overrides, tuned });
    return result.success ? 'no error' : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
  };

  it('accepts what the tuner writes', () => {
    const measured = { throughput_per_s: 1, p50_ms: 1, p95_ms: 2, latency_budget_ms: 7500, concurrency: 16, date: '2026-12-06' };
    expect(problem({ [CPU]: { '1': { ...block(2, 4), preferred_batch_sizes: [4], measured } } })).toBe('no error');
  });

  it.each([
    [{ [CPU]: { '3': block(1, 1) } }, {}, `tuned.${CPU}.3: version 3 is not in versions`],
    [{ [CPU]: { '1': block(1, 32) } }, {}, "max_batch_size: between 1 and the model's max_batch_size (16)"],
    [{ [CPU]: { '1': block(1, 0) } }, {}, "max_batch_size: between 1 and the model's max_batch_size (16)"],
    [{ [CPU]: { '1': block(1, 4) } }, { max_batch_size: 0, dynamic_batching: {} }, 'the model does not batch (max_batch_size 0)'],
    [{ [CPU]: { '1': { ...block(1, 4), preferred_batch_sizes: [8] } } }, {}, '8 is larger than the tuned max_batch_size (4)'],
    [{ [CPU]: { '1': { ...block(1, 4), instance_count: 0 } } }, {}, 'instance_count'],
    [{ [CPU]: { '1': { ...block(1, 4), surprise: true } } }, {}, 'surprise'],
  ])('refuses %j', (tuned, overrides, message) => {
    expect(problem(tuned, overrides)).toContain(message);
  });
});
