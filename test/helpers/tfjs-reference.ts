import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../workers/runtime/tf/tf-backends.js';
import { modelFilesHandler } from '../../workers/runtime/tf/tf-model-files.js';

/** tfjs on WASM in the test process itself: the reference Switchyard's answers are checked against. */
export async function referenceBackend(): Promise<string> {
  return (await selectBackend(['cpu'], 1)).name;
}

/** Runs a graph model once in this process; returns the named output's values. */
export async function runGraphDirectly(modelJson: string, inputs: Record<string, tf.Tensor>, output: string): Promise<Float32Array> {
  const model = await tf.loadGraphModel(modelFilesHandler(modelJson));
  try {
    const result = model.execute(inputs, output) as tf.Tensor;
    const values = result.dataSync() as Float32Array;
    result.dispose();
    return values;
  } finally {
    model.dispose();
  }
}

/**
 * Writes a small Keras-style layers model (8 -> 16 relu -> 3 softmax, seeded weights)
 * as model.json + weights.bin into `folder`, and returns it for direct runs.
 */
export async function writeTinyLayersModel(folder: string): Promise<tf.LayersModel> {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [8],
        units: 16,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotNormal({ seed: 7 }),
        name: 'hidden',
      }),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: 11 }), name: 'scores' }),
    ],
  });
  mkdirSync(folder, { recursive: true });
  await model.save({
    save: async (artifacts) => {
      const weights = artifacts.weightData as ArrayBuffer;
      writeFileSync(join(folder, 'weights.bin'), new Uint8Array(weights));
      const json = {
        format: 'layers-model',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  });
  return model;
}
