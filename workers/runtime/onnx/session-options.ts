import type { InferenceSession } from 'onnxruntime-node';

/**
 * The session options every onnxruntime session here is made with (instance threads, the
 * inline copy, and the benches' raw baselines, so a baseline runs the model as the server
 * does): one inter-op thread, sequential execution, every graph optimisation, and no
 * spinning, which would hold the cores the event loop and the other instances need between runs.
 */
export function sessionOptions(
  intraOpThreads: number,
  executionProviders: InferenceSession.SessionOptions['executionProviders'] = ['cpu'],
): InferenceSession.SessionOptions {
  return {
    executionProviders,
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}
