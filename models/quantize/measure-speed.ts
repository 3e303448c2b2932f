import * as ort from 'onnxruntime-node';
import type { Sample } from './calibration-inputs.js';

export interface SpeedFigure {
  readonly batch: number;
  /** Median milliseconds per run. */
  readonly fp32_ms: number;
  readonly int8_ms: number;
  /** fp32 / int8: above 1 means the int8 model is faster. */
  readonly ratio: number;
}

/** One feed of `batch` rows, made by stacking the samples' rows (repeating them as needed). */
export function stackRows(samples: readonly Sample[], batch: number): Record<string, ort.Tensor> {
  const feed: Record<string, ort.Tensor> = {};
  for (const name of Object.keys(samples[0]!.feed)) {
    const first = samples[0]!.feed[name]!;
    const rowSize = (first.data as Float32Array).length / first.dims[0]!;
    const data = new Float32Array(rowSize * batch);
    for (let row = 0; row < batch; row += 1) {
      const source = samples[row % samples.length]!.feed[name]!.data as Float32Array;
      data.set(source.subarray(0, rowSize), row * rowSize);
    }
    feed[name] = new ort.Tensor('float32', data, [batch, ...first.dims.slice(1)]);
  }
  return feed;
}

/**
 * Median time per run of each model on the same feed, measured in alternating rounds so
 * that load on this shared machine falls on both alike: the ratio is the figure to trust.
 */
export async function measureSpeed(
  fp32: ort.InferenceSession,
  int8: ort.InferenceSession,
  feed: Record<string, ort.Tensor>,
  batch: number,
  budgetMs = 4_000,
): Promise<SpeedFigure> {
  await fp32.run(feed);
  await int8.run(feed);
  const started = performance.now();
  await fp32.run(feed);
  const once = Math.max(0.05, performance.now() - started);
  const runsPerRound = Math.max(1, Math.min(200, Math.floor(budgetMs / 10 / once)));
  const times = { fp32: [] as number[], int8: [] as number[] };
  for (let round = 0; round < 10; round += 1) {
    for (const [name, session] of [
      ['fp32', fp32],
      ['int8', int8],
    ] as const) {
      const begin = performance.now();
      for (let i = 0; i < runsPerRound; i += 1) await session.run(feed);
      times[name].push((performance.now() - begin) / runsPerRound);
    }
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const fp32Ms = median(times.fp32);
  const int8Ms = median(times.int8);
  return { batch, fp32_ms: round(fp32Ms), int8_ms: round(int8Ms), ratio: round(fp32Ms / int8Ms) };
}

const round = (value: number): number => Math.round(value * 1000) / 1000;
