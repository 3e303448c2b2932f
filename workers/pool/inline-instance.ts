import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ModelConfig } from '../repository/model-config.js';
import { joinBatchInputs, splitBatchOutputs } from '../runtime/batch-rows.js';
import type { BatchRun, BatchRunResult, ModelInstance } from '../runtime/runtime.js';
import { sessionOptions } from '../runtime/onnx/session-options.js';
import { warmupInputs } from './warmup.js';
import { RunFailedError } from '../runtime/run-failed.js';

/**
 * Most a lone request's model run may take to be run inline (on the serving thread): the
 * median of timed batch-1 runs at load, and the running average as it serves. Parsing a JSON
 * body of ~200 KiB, which the gateway does inline, stalls the event loop as long.
 */
export const INLINE_MAX_MS = 1;
/** Timed batch-1 runs at load (after one untimed run). */
const TIMED_RUNS = 15;
/**
 * Weight of each run in the running average that keeps an inline copy honest while it serves,
 * each run counted at most twice the limit: a lone stall (a page fault, the machine busy for a
 * moment) moves it little, ten slow runs in a row take it past the limit.
 */
const AVERAGE_WEIGHT = 0.05;
/**
 * How long a copy whose average passed the limit rests before it is tried again from its first
 * measure. Its runs slow down when the machine is busy (other processes take the core it runs
 * on); a busy spell must not end inline runs for the life of the process.
 */
export const INLINE_REST_MS = 10_000;

/**
 * A second copy of a small CPU ONNX model, run on the thread that serves requests (with at
 * most one helper thread), for a request that finds its version idle: it saves the hand-off to an instance
 * thread and back (two thread wake-ups, most of a tiny model's latency at one connection).
 * Only used while its runs stay under INLINE_MAX_MS; busy versions use their threads.
 */
export class InlineInstance implements ModelInstance {
  readonly provider = 'cpu';
  /** Running average of run time (ms). */
  averageMs: number;
  /** When its rest ends (epoch ms); 0 while it has not been sent to rest. */
  restUntil = 0;
  /** The median of its timed runs at load: where its average starts again after a rest. */
  #firstMs = 0;
  readonly #session: import('onnxruntime-node').InferenceSession;
  readonly #ort: typeof import('../runtime/onnx/ort-tensors.js');

  private constructor(
    session: import('onnxruntime-node').InferenceSession,
    tensors: typeof import('../runtime/onnx/ort-tensors.js'),
    medianMs: number,
  ) {
    this.#session = session;
    this.#ort = tensors;
    this.averageMs = medianMs;
  }

  /** Whether a version's config allows an inline copy: ONNX on the CPU, every input of a fixed shape (so its run time is the one measured). */
  static eligible(config: ModelConfig): boolean {
    return (
      config.platform === 'onnx' &&
      config.instance_group.kind !== 'gpu' &&
      config.inputs.every((input) => !input.image && !input.audio && input.datatype !== 'BYTES' && !input.shape.includes(-1))
    );
  }

  /**
   * Loads the copy with one intra-op thread (the caller's) and, where there are two cores, with two
   * (the caller's and one it wakes), times batch-1 runs of the warm-up inputs with each, and keeps
   * the faster: a small matrix model ran batch 1 in 0.21 ms on one thread and 0.125 ms on two here,
   * a model too small to split the other way round. Resolves with the copy and its median when
   * that is under INLINE_MAX_MS, else closes it and resolves with the median alone.
   */
  static async start(
    modelPath: string,
    config: ModelConfig,
    cores = availableParallelism(),
  ): Promise<{ instance?: InlineInstance; medianMs: number; threads: number }> {
    const [{ default: ort }, tensors] = await Promise.all([import('onnxruntime-node'), import('../runtime/onnx/ort-tensors.js')]);
    let best: { candidate: InlineInstance; medianMs: number; threads: number } | undefined;
    for (const threads of cores >= 2 ? [1, 2] : [1]) {
      const session = await ort.InferenceSession.create(modelPath, sessionOptions(threads));
      const candidate = new InlineInstance(session, tensors, 0);
      const medianMs = await candidate.#timeRuns(config);
      if (best === undefined || medianMs < best.medianMs) {
        await best?.candidate.close();
        best = { candidate, medianMs, threads };
      } else await candidate.close();
    }
    const { candidate, medianMs, threads } = best!;
    if (medianMs > INLINE_MAX_MS) {
      await candidate.close();
      return { medianMs, threads };
    }
    candidate.averageMs = medianMs;
    candidate.#firstMs = medianMs;
    return { instance: candidate, medianMs, threads };
  }

  /** The median of TIMED_RUNS batch-1 runs of the warm-up inputs, after one untimed run. */
  async #timeRuns(config: ModelConfig): Promise<number> {
    const outputs = config.outputs.map((output) => output.name);
    const times: number[] = [];
    for (let run = 0; run <= TIMED_RUNS; run += 1) {
      const result = await this.run({ requests: [{ inputs: warmupInputs(config, 1) }], outputs });
      if (run > 0) times.push(result.computeMs);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  }

  /** False once its running average passed INLINE_MAX_MS (the machine got slower, or inputs bigger). */
  get fast(): boolean {
    return this.averageMs <= INLINE_MAX_MS;
  }

  /** Sends it to rest: no inline runs for INLINE_REST_MS. */
  rest(now = Date.now()): void {
    this.restUntil = now + INLINE_REST_MS;
  }

  /** Whether its rest is over: then its average starts again from its first measure. */
  wake(now = Date.now()): boolean {
    if (now < this.restUntil) return false;
    this.restUntil = 0;
    this.averageMs = this.#firstMs;
    return true;
  }

  async run(batch: BatchRun): Promise<BatchRunResult> {
    const marshalStart = performance.now();
    const inputs = batch.requests.length === 1 ? batch.requests[0]!.inputs : joinBatchInputs(batch);
    const feeds = Object.fromEntries(inputs.map((tensor) => [tensor.name, this.#ort.toOrtTensor(tensor)]));
    const feedMs = performance.now() - marshalStart;
    // onnxruntime-node runs the session on this thread in a setImmediate callback, after the
    // event loop's pending I/O: this callback, queued just before it, marks when the run itself
    // starts, so a busy loop's wait is not counted as the model's time (nor held against the copy).
    let runStart = 0;
    setImmediate(() => {
      runStart = performance.now();
    });
    const called = performance.now();
    const results = await this.#session.run(feeds, [...batch.outputs]).catch((error: unknown) => {
      throw new RunFailedError((error as Error).message ?? String(error));
    });
    const runEnd = performance.now();
    const computeMs = runEnd - (runStart === 0 ? called : runStart);
    this.averageMs += (Math.min(computeMs, 2 * INLINE_MAX_MS) - this.averageMs) * AVERAGE_WEIGHT;
    const { outputs } = splitBatchOutputs(
      batch,
      batch.outputs.map((name) => this.#ort.fromOrtTensor(name, results[name]!)),
    );
    return { outputs, computeMs, inputMs: feedMs, outputMs: performance.now() - runEnd };
  }

  async close(): Promise<void> {
    await this.#session.release();
  }

  onExit(): void {
    // Runs in the serving thread: it cannot die apart from it.
  }
}
