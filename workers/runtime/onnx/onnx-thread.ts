/**
 * Body of one ONNX instance thread: owns one InferenceSession. onnxruntime-node's run()
 * is a synchronous native call, so it must never run on a thread that serves HTTP or
 * renews queue locks.
 */
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { joinBatchInputs, splitBatchOutputs } from '../batch-rows.js';
import type { BatchRun, InstanceSpec } from '../runtime.js';
import { availableProviders } from './execution-providers.js';
import { fromOrtTensor, toOrtTensor } from './ort-tensors.js';
import { sessionOptions } from './session-options.js';
import type { FromThread, ToThread } from '../thread-messages.js';

const port = parentPort;
if (!port) throw new Error('onnx-thread must run in a worker thread');

let session: ort.InferenceSession | undefined;

function send(message: FromThread, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

async function load(spec: InstanceSpec): Promise<void> {
  const { providers, skipped } = availableProviders(spec.executionProviders);
  const failures: string[] = [...skipped];
  for (let i = 0; i < providers.length; i += 1) {
    const provider = providers[i]!;
    const chain = providers.slice(i).map((name) => (name === 'cuda' ? { name: 'cuda', deviceId: spec.deviceId } : name));
    try {
      session = await ort.InferenceSession.create(spec.modelPath, sessionOptions(spec.intraOpThreads, chain));
      send({ type: 'loaded', provider, skipped: failures });
      return;
    } catch (error) {
      failures.push(`${provider} (${(error as Error).message.split('\n')[0]})`);
    }
  }
  send({ type: 'load-failed', message: `no execution provider could load ${spec.modelPath}: ${failures.join('; ')}` });
}

async function run(id: number, batch: BatchRun): Promise<void> {
  if (!session) throw new Error('run before load');
  const inputStart = performance.now();
  const feeds = Object.fromEntries(joinBatchInputs(batch).map((tensor) => [tensor.name, toOrtTensor(tensor)]));
  const computeStart = performance.now();
  const results = await session.run(feeds, [...batch.outputs]);
  const computeEnd = performance.now();
  const { outputs, buffers } = splitBatchOutputs(
    batch,
    batch.outputs.map((name) => fromOrtTensor(name, results[name]!)),
  );
  const times = { computeMs: computeEnd - computeStart, inputMs: computeStart - inputStart, outputMs: performance.now() - computeEnd };
  send({ type: 'result', id, outputs, ...times }, buffers);
}

port.on('message', (message: ToThread) => {
  if (message.type === 'load') {
    load(message.spec).catch((error: unknown) => send({ type: 'load-failed', message: String(error) }));
  } else if (message.type === 'run') {
    run(message.id, message.batch).catch((error: unknown) =>
      send({ type: 'run-failed', id: message.id, message: (error as Error).message ?? String(error) }),
    );
  }
});
