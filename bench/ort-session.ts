import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import { sessionOptions } from '../workers/runtime/onnx/session-options.js';

/** One session gets every core, as the brief for a compute ceiling asks. */
export const INTRA_OP_THREADS = availableParallelism();

/**
 * The session options every in-process measurement uses: the same as the gateway's
 * instance thread, with all cores for one session, so the compute limit is a fair ceiling.
 */
export function createSession(modelPath: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelPath, sessionOptions(INTRA_OP_THREADS));
}

/** Runs a [rows, width] float batch and returns the first output's data. */
export async function runBatch(session: ort.InferenceSession, data: Float32Array, rows: number): Promise<Float32Array> {
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  const results = await session.run({ [inputName]: new ort.Tensor('float32', data, [rows, data.length / rows]) });
  return results[outputName]!.data as Float32Array;
}
