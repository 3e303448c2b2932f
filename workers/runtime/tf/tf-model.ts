import { existsSync, statSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { TfBackend, TfSavedModel } from './tf-backends.js';
import { modelFilesHandler } from './tf-model-files.js';

export type TfFormat = 'graph' | 'layers' | 'saved_model';

/**
 * A loaded TF model behind one call. `run` is synchronous so the caller can wrap it in
 * tf.tidy: every intermediate tensor is freed, only the returned outputs survive.
 */
export interface TfModel {
  /** Inputs by name; returns the named outputs, in the order asked. */
  run(inputs: tf.NamedTensorMap, outputs: readonly string[]): tf.Tensor[];
  dispose(): void;
}

export async function loadTfModel(backend: TfBackend, format: TfFormat, path: string): Promise<TfModel> {
  switch (format) {
    case 'graph':
      return graphModel(await tf.loadGraphModel(modelFilesHandler(path)));
    case 'layers':
      return layersModel(await tf.loadLayersModel(modelFilesHandler(path)));
    case 'saved_model': {
      if (!backend.node) {
        throw new Error(
          `format saved_model needs tfjs-node (native libtensorflow), but this worker runs tfjs on ${backend.name}: install @tensorflow/tfjs-node, or convert the model to a graph model with tensorflowjs_converter`,
        );
      }
      if (!existsSync(path) || !statSync(path).isDirectory()) throw new Error(`saved model folder ${path} does not exist`);
      return savedModel(await backend.node.loadSavedModel(path));
    }
  }
}

function graphModel(model: tf.GraphModel): TfModel {
  return {
    // execute() is the synchronous path; graphs with control flow would need executeAsync.
    run: (inputs, outputs) => toList(model.execute(inputs, [...outputs])),
    dispose: () => model.dispose(),
  };
}

/**
 * Inputs are named as the model's input tensors (e.g. dense_input); outputs by their layer
 * (e.g. scores) or tensor name (scores/scores). Sequential models fill inputNames and
 * outputNames only once compiled, so the symbolic tensors are read instead.
 */
function layersModel(model: tf.LayersModel): TfModel {
  const inputNames = model.inputs.map((input) => input.name);
  const outputNames = model.outputs.map((output) => output.name);
  const outputIndex = (name: string): number =>
    outputNames.findIndex((candidate) => candidate === name || candidate.split('/')[0] === name);
  return {
    run: (inputs, outputs) => {
      const ordered = inputNames.map((name) => {
        const tensor = inputs[name];
        if (!tensor) throw new Error(`layers model input "${name}" was not given`);
        return tensor;
      });
      const results = toList(model.predict(ordered.length === 1 ? ordered[0]! : ordered));
      return outputs.map((name) => pick(results, outputIndex(name), name, outputNames));
    },
    dispose: () => model.dispose(),
  };
}

function savedModel(model: TfSavedModel): TfModel {
  return {
    run: (inputs, outputs) => {
      const results = model.predict(inputs);
      if (results instanceof tf.Tensor || Array.isArray(results)) {
        throw new Error('the saved model signature returned unnamed outputs; name them in the signature');
      }
      return outputs.map((name) => {
        const tensor = results[name];
        if (!tensor) throw new Error(`saved model output "${name}" not found; it has ${Object.keys(results).join(', ')}`);
        return tensor;
      });
    },
    dispose: () => model.dispose(),
  };
}

function toList(result: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
  return Array.isArray(result) ? result : [result];
}

function pick(results: tf.Tensor[], index: number, name: string, names: readonly string[]): tf.Tensor {
  const tensor = results[index];
  if (!tensor) throw new Error(`layers model output "${name}" not found; it has ${names.join(', ')}`);
  return tensor;
}
