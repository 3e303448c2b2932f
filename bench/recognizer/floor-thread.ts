import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { sessionOptions } from '../../workers/runtime/onnx/session-options.js';

/** One session on its own thread for the floor server: runs each row it is sent, hands the output back by transfer. */
const { modelPath, threads } = workerData as { modelPath: string; threads: number };
const session = await ort.InferenceSession.create(modelPath, sessionOptions(threads));
const input = session.inputNames[0]!;
const output = session.outputNames[0]!;
parentPort!.on('message', async ({ id, data, width }: { id: number; data: Float32Array; width: number }) => {
  const results = await session.run({ [input]: new ort.Tensor('float32', data, [1, 3, 48, width]) });
  const out = results[output]!;
  const values = out.data as Float32Array;
  // onnxruntime-node gives each output an ArrayBuffer of its own: transferred, not copied.
  parentPort!.postMessage({ id, dims: out.dims, data: values }, [values.buffer as ArrayBuffer]);
});
parentPort!.postMessage('ready');
