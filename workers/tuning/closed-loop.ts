import { performance } from 'node:perf_hooks';
import type { ValidInferRequest } from '../protocol/inference.js';
import type { Tensor } from '../protocol/tensor.js';
import type { ModelConfig } from '../repository/model-config.js';
import type { VersionPool } from '../pool/version-pool.js';
import { warmupInputs } from '../pool/warmup.js';

export interface LoadOptions {
  /** Requests in flight at every moment (each client sends its next as soon as one is answered). */
  readonly concurrency: number;
  /** Unrecorded start, so queues and thread pools reach their steady state. */
  readonly rampMs: number;
  readonly measureMs: number;
  /**
   * Asked at each checkpoint with what was measured so far; a reason stops the
   * configuration early (it is clearly worse than the best so far, or over budget).
   */
  readonly stopEarly?: (sofar: Measured) => string | undefined;
}

export interface Measured {
  /** Answered requests per second over the measured window. */
  readonly throughput: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly requests: number;
  readonly failures: number;
  /** Mean rows per executed batch. */
  readonly meanBatchRows: number;
  readonly measuredMs: number;
  /**
   * CPU time of this whole process (the instance threads, the batcher, the load loop) per answered
   * request over the window: steadier than throughput when other processes share the cores.
   */
  readonly cpuMsPerRequest?: number;
  /** Why the measurement ended before measureMs, when it did. */
  readonly stoppedEarly?: string;
}

const CHECKPOINT_MS = 500;
/** Answers needed before a configuration can be judged early. */
const MIN_ANSWERS_TO_JUDGE = 20;

/** One-row requests built from the model's metadata (variable dims from warmup.dims), as the gateway would validate them. */
export function requestFactory(config: ModelConfig, model: string, version: string): () => ValidInferRequest {
  const template = warmupInputs(config, 1);
  const batching = config.max_batch_size > 0;
  const signature = template.map((tensor) => `${tensor.name}:${tensor.shape.slice(batching ? 1 : 0).join('x')}`).join('|');
  let next = 0;
  return () => ({
    requestId: `tune-${(next += 1)}`,
    model,
    version,
    // Running a batch transfers (detaches) its buffers: each request gets its own copy.
    inputs: template.map((tensor): Tensor => ({ ...tensor, data: tensor.data.slice() as Tensor['data'] })),
    outputs: [],
    rows: 1,
    signature,
    deadline: Date.now() + config.dynamic_batching.default_timeout_ms,
    priority: 0,
  });
}

/** Closed-loop load on a READY pool: `concurrency` clients, each waiting for its answer before sending again. */
export async function closedLoop(pool: VersionPool, makeRequest: () => ValidInferRequest, options: LoadOptions): Promise<Measured> {
  const latencies: number[] = [];
  let failures = 0;
  let rows = 0;
  let executions = 0;
  let recording = false;
  let stopping = false;
  let windowStart = 0;

  const client = async (): Promise<void> => {
    while (!stopping) {
      const sent = performance.now();
      try {
        const result = await pool.infer(makeRequest());
        // Answers within the window count, whenever they were sent: the ramp made the load steady.
        if (recording) {
          latencies.push(performance.now() - sent);
          rows += result.timings.batchRows / result.timings.batchSize;
          executions += 1 / result.timings.batchSize;
        }
      } catch {
        if (recording) failures += 1;
      }
    }
  };

  const clients = Array.from({ length: options.concurrency }, () => client());
  await sleep(options.rampMs);
  recording = true;
  windowStart = performance.now();
  const cpuStart = process.cpuUsage();
  let stoppedEarly: string | undefined;
  // A slow model gets longer, up to four windows, to answer enough requests to judge.
  const longer = (): boolean => latencies.length < MIN_ANSWERS_TO_JUDGE && performance.now() - windowStart < options.measureMs * 4;
  while (performance.now() - windowStart < options.measureMs || longer()) {
    const left = options.measureMs - (performance.now() - windowStart);
    await sleep(left > 0 ? Math.min(CHECKPOINT_MS, left) : CHECKPOINT_MS);
    if (latencies.length < MIN_ANSWERS_TO_JUDGE || !options.stopEarly) continue;
    stoppedEarly = options.stopEarly(summarize(latencies, failures, rows, executions, performance.now() - windowStart));
    if (stoppedEarly) break;
  }
  const cpu = process.cpuUsage(cpuStart);
  const summary = summarize(latencies, failures, rows, executions, performance.now() - windowStart);
  const measured = { ...summary, cpuMsPerRequest: (cpu.user + cpu.system) / 1000 / Math.max(1, latencies.length) };
  recording = false;
  stopping = true;
  await Promise.all(clients);
  return stoppedEarly ? { ...measured, stoppedEarly } : measured;
}

function summarize(latencies: readonly number[], failures: number, rows: number, executions: number, elapsedMs: number): Measured {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    throughput: (latencies.length / elapsedMs) * 1000,
    p50Ms: percentile(sorted, 0.5),
    p95Ms: percentile(sorted, 0.95),
    requests: latencies.length,
    failures,
    meanBatchRows: executions > 0 ? rows / executions : 0,
    measuredMs: elapsedMs,
  };
}

/** Nearest rank, over sorted values; 0 for none. */
function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
