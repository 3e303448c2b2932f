import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModelConfig } from '../../workers/repository/model-config.js';
import { seededRandom } from '../build/seeded-random.js';
import { readNpy } from './npy.js';
import { textLineSamples } from './text-line-samples.js';

/** One model feed (one row per input), and the text it shows when it is a rendered line. */
export interface Sample {
  readonly feed: Record<string, ort.Tensor>;
  readonly text?: string;
}

export interface SampleSets {
  readonly calibration: readonly Sample[];
  /** Inputs the calibration never saw, for the accuracy figures. */
  readonly evaluation: readonly Sample[];
}

/** Where calibration inputs come from: a built-in generator or a folder of .npy files. */
export type CalibrationSource = 'random' | 'text-lines' | { readonly dir: string };

export function parseCalibrationSource(value: string): CalibrationSource {
  return value === 'random' || value === 'text-lines' ? value : { dir: value };
}

/** Seeded uniform numbers in [-1, 1): the demo models' inputs, as the benchmark sends them. */
function uniform(seed: number): () => number {
  const next = seededRandom(seed);
  return () => next() * 2 - 1;
}

function randomSamples(config: ModelConfig, count: number, seed: number): Sample[] {
  const next = uniform(seed);
  return Array.from({ length: count }, () => {
    const feed: Record<string, ort.Tensor> = {};
    for (const spec of config.inputs) {
      if (spec.datatype !== 'FP32')
        throw new Error(`random calibration makes FP32 inputs; "${spec.name}" is ${spec.datatype}: give a --calibration folder`);
      const concrete = [...(config.warmup.dims[spec.name] ?? [])];
      const dims = spec.shape.map((dim) => (dim === -1 ? (concrete.shift() ?? 1) : dim));
      const shape = config.max_batch_size > 0 ? [1, ...dims] : dims;
      feed[spec.name] = new ort.Tensor('float32', Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, next), shape);
    }
    return { feed };
  });
}

async function textLines(config: ModelConfig, count: number, seed: number): Promise<Sample[]> {
  const input = config.inputs[0]!.name;
  return (await textLineSamples(count, seed)).map((sample) => ({
    text: sample.text,
    feed: { [input]: new ort.Tensor('float32', sample.tensor.data as Float32Array, [...sample.tensor.shape]) },
  }));
}

/** A folder of `<sample>.<input>.npy` files; every fourth sample is held out for evaluation. */
async function folderSamples(config: ModelConfig, dir: string): Promise<SampleSets> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.npy')).sort();
  const samples = new Map<string, Record<string, ort.Tensor>>();
  for (const file of files) {
    const match = /^(.+)\.([^.]+)\.npy$/.exec(file);
    if (!match || !config.inputs.some((spec) => spec.name === match[2]))
      throw new Error(
        `${join(dir, file)}: name calibration files <sample>.<input>.npy with an input of ${config.name} (${config.inputs.map((s) => s.name).join(', ')})`,
      );
    const { shape, data } = readNpy(await readFile(join(dir, file)), join(dir, file));
    const feed = samples.get(match[1]!) ?? {};
    feed[match[2]!] = new ort.Tensor('float32', data, shape);
    samples.set(match[1]!, feed);
  }
  const all = [...samples.values()].filter((feed) => config.inputs.every((spec) => spec.name in feed)).map((feed) => ({ feed }));
  if (all.length < 2) throw new Error(`${dir} holds fewer than 2 complete samples (one .npy per input each)`);
  return { calibration: all.filter((_, i) => i % 4 !== 3), evaluation: all.filter((_, i) => i % 4 === 3) };
}

/**
 * Random calibration rows: error-feedback rounding needs more rows than a layer has inputs
 * (2048 covers the demo MLP's 1024-wide layers with a well-conditioned Hessian); large
 * inputs (images) get fewer, about 2M values in all, but never under 64.
 */
function randomCalibrationCount(config: ModelConfig): number {
  const values = config.inputs.reduce((total, spec) => total + spec.shape.reduce((product, dim) => product * Math.max(dim, 1), 1), 0);
  return Math.max(64, Math.min(2048, Math.floor(2 ** 21 / Math.max(values, 1))));
}

export async function sampleSets(config: ModelConfig, source: CalibrationSource): Promise<SampleSets> {
  // Different seeds: evaluation rows are never calibration rows.
  if (source === 'random')
    return { calibration: randomSamples(config, randomCalibrationCount(config), 1), evaluation: randomSamples(config, 5000, 2) };
  if (source === 'text-lines') return { calibration: await textLines(config, 24, 1), evaluation: await textLines(config, 40, 2) };
  return folderSamples(config, source.dir);
}
