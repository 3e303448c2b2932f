import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThread, ThreadInstance } from '../../workers/runtime/thread-instance.js';
import type { Tensor } from '../../workers/protocol/tensor.js';
import { MlpReference, mlpVector } from '../helpers/mlp-reference.js';
import { PROJECT_MODELS } from '../helpers/repository.js';

/** Requests of 1, 3 and 2 rows: the main thread joins them into one 6-row tensor and cuts the answer back. */
const rowsOf = (seeds: readonly number[]): Tensor => ({
  name: 'input',
  datatype: 'FP32',
  shape: [seeds.length, 512],
  data: Float32Array.from(seeds.flatMap((seed) => mlpVector(seed))),
});

describe('an instance thread running a batch of several requests', () => {
  let instance: ThreadInstance;
  let reference: MlpReference;

  beforeAll(async () => {
    const spec = {
      modelPath: `${PROJECT_MODELS}/mlp-classifier/1/model.onnx`,
      executionProviders: ['cpu'],
      intraOpThreads: 1,
      deviceId: 0,
      label: 'mlp:1#test',
    };
    instance = new ThreadInstance(await startThread(spec, 'onnx/onnx-thread'));
    reference = await MlpReference.load();
  });
  afterAll(async () => {
    await instance.close();
    await reference.close();
  });

  it('answers each request with its own rows, as if it ran alone', async () => {
    const groups = [[1], [2, 3, 4], [5, 6]];
    const inputs = groups.map(rowsOf);
    const result = await instance.run({ requests: inputs.map((input) => ({ inputs: [input] })), outputs: ['probabilities'] });
    expect(result.outputs).toHaveLength(3);
    for (const [index, seeds] of groups.entries()) {
      const [output] = result.outputs[index]!;
      expect(output!.shape).toEqual([seeds.length, 10]);
      for (const [row, seed] of seeds.entries()) {
        const data = Array.from(output!.data as Float32Array).slice(row * 10, row * 10 + 10);
        expect(await reference.matches(seed, data)).toBe(true);
      }
    }
    // The callers' own tensors stay readable: the joined copy crossed to the thread, not theirs.
    expect(inputs[0]!.data.byteLength).toBe(512 * 4);
  });

  it('runs one request alone by transfer, as before', async () => {
    const input = rowsOf([9]);
    const result = await instance.run({ requests: [{ inputs: [input] }], outputs: ['probabilities'] });
    expect(await reference.matches(9, Array.from(result.outputs[0]![0]!.data as Float32Array))).toBe(true);
  });
});
