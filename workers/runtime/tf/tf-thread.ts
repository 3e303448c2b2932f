/**
 * Body of one TF instance thread: owns one tfjs model. tfjs runs ops synchronously on
 * the calling thread (native and WASM alike), so it must never share a thread with HTTP
 * or queue-lock renewal. Every run is wrapped in tf.tidy and its outputs disposed after
 * reading, so the thread holds the model's weights and nothing more between batches.
 */
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { Tensor } from '../../protocol/tensor.js';
import { joinBatchInputs, splitBatchOutputs } from '../batch-rows.js';
import type { BatchRun, InstanceSpec } from '../runtime.js';
import type { FromThread, ToThread } from '../thread-messages.js';
import { selectBackend } from './tf-backends.js';
import { loadTfModel, type TfModel } from './tf-model.js';
import { fromTfTensor, toTfTensor } from './tf-tensors.js';

const port = parentPort;
if (!port) throw new Error('tf-thread must run in a worker thread');

let model: TfModel | undefined;

function send(message: FromThread, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

async function load(spec: InstanceSpec): Promise<void> {
  const backend = await selectBackend(spec.executionProviders, spec.intraOpThreads);
  try {
    model = await loadTfModel(backend, spec.format ?? 'graph', spec.modelPath);
  } catch (error) {
    throw new Error(`${backend.name} could not load ${spec.modelPath}: ${(error as Error).message}`);
  }
  send({ type: 'loaded', provider: backend.name, skipped: backend.skipped });
}

function run(id: number, batch: BatchRun): void {
  if (!model) throw new Error('run before load');
  const loaded = model;
  const inputStart = performance.now();
  const joined = joinBatchInputs(batch);
  const computeStart = performance.now();
  const results = tf.tidy(() => loaded.run(Object.fromEntries(joined.map((tensor) => [tensor.name, toTfTensor(tensor)])), batch.outputs));
  let tensors: Tensor[];
  try {
    tensors = results.map((result, index) => fromTfTensor(batch.outputs[index]!, result));
  } finally {
    tf.dispose(results);
  }
  const computeEnd = performance.now();
  const { outputs, buffers } = splitBatchOutputs(batch, tensors);
  const times = { computeMs: computeEnd - computeStart, inputMs: computeStart - inputStart, outputMs: performance.now() - computeEnd };
  send({ type: 'result', id, outputs, ...times }, buffers);
}

port.on('message', (message: ToThread) => {
  if (message.type === 'load') {
    load(message.spec).catch((error: unknown) => send({ type: 'load-failed', message: (error as Error).message ?? String(error) }));
  } else if (message.type === 'run') {
    try {
      run(message.id, message.batch);
    } catch (error) {
      send({ type: 'run-failed', id: message.id, message: (error as Error).message ?? String(error) });
    }
  } else {
    send({ type: 'memory', id: message.id, numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes });
  }
});
