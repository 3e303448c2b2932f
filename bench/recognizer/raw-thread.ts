import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { sessionOptions } from '../../workers/runtime/onnx/session-options.js';

/**
 * One raw onnxruntime session on its own thread (run() blocks its thread): warms up, waits for
 * the start signal, runs batches of `batch` rows until told to stop, reports the rows it ran.
 */
interface RawThreadData {
  readonly modelPath: string;
  readonly threads: number;
  readonly batch: number;
  readonly width: number;
}

const { modelPath, threads, batch, width } = workerData as RawThreadData;
const session = await ort.InferenceSession.create(modelPath, sessionOptions(threads));
const data = new Float32Array(batch * 3 * 48 * width);
for (let i = 0; i < data.length; i += 1) data[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', data, [batch, 3, 48, width]) };
for (let i = 0; i < 2; i += 1) await session.run(feeds);

let running = false;
let rows = 0;
parentPort!.on('message', async (message: 'start' | 'stop') => {
  if (message === 'stop') {
    running = false;
    return;
  }
  running = true;
  rows = 0;
  // The rate runs to the end of the last batch that finished before the stop, so the batch cut
  // off by it counts neither its rows nor its time.
  const started = performance.now();
  let lastEnd = started;
  while (running) {
    await session.run(feeds);
    if (!running) break;
    rows += batch;
    lastEnd = performance.now();
  }
  parentPort!.postMessage({ rows, seconds: (lastEnd - started) / 1000 });
});
parentPort!.postMessage('ready');
