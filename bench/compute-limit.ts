import { performance } from 'node:perf_hooks';
import type { RequestBody } from './request-bodies.js';
import { createSession, INTRA_OP_THREADS, runBatch } from './ort-session.js';
import { mean, percentile, round } from './stats.js';

export interface BatchThroughput {
  readonly batchSize: number;
  readonly runs: number;
  /** Samples over wall time: what a sustained server could reach. */
  readonly samplesPerSecond: number;
  /** Samples per median run time: the same, less the noise of a shared machine. */
  readonly samplesPerSecondAtMedian: number;
  readonly medianRunMs: number;
}

export interface ComputeLimit {
  readonly intraOpThreads: number;
  readonly batches: BatchThroughput[];
  readonly best: BatchThroughput;
  readonly rawLatencyBatch1: {
    readonly runs: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly meanMs: number;
    readonly minMs: number;
  };
  /** Batch-1 outputs per request body, to check the servers' answers against. */
  readonly expected: Float32Array[];
}

/** Several distinct [rows, 512] inputs built from the bodies, so runs do not reuse one tensor. */
function batchInputs(bodies: readonly RequestBody[], rows: number, variants: number): Float32Array[] {
  const width = bodies[0]!.input.length;
  return Array.from({ length: variants }, (_, variant) => {
    const data = new Float32Array(rows * width);
    for (let row = 0; row < rows; row += 1) data.set(bodies[(variant * rows + row) % bodies.length]!.input, row * width);
    return data;
  });
}

async function throughput(
  session: Awaited<ReturnType<typeof createSession>>,
  bodies: readonly RequestBody[],
  rows: number,
  seconds: number,
): Promise<BatchThroughput> {
  const inputs = batchInputs(bodies, rows, 4);
  for (let i = 0; i < 10; i += 1) await runBatch(session, inputs[i % inputs.length]!, rows);
  const times: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    const before = now;
    await runBatch(session, inputs[times.length % inputs.length]!, rows);
    now = performance.now();
    times.push(now - before);
  }
  const elapsed = (now - start) / 1000;
  const medianRunMs = percentile(times, 50);
  return {
    batchSize: rows,
    runs: times.length,
    samplesPerSecond: round((times.length * rows) / elapsed, 1),
    samplesPerSecondAtMedian: round((rows * 1000) / medianRunMs, 1),
    medianRunMs: round(medianRunMs, 4),
  };
}

/** In-process onnxruntime-node: the most this model can do on this machine, no HTTP. */
export async function measureComputeLimit(
  modelPath: string,
  bodies: readonly RequestBody[],
  batchSizes: readonly number[],
  secondsPerBatch: number,
  latencyRuns: number,
): Promise<ComputeLimit> {
  const session = await createSession(modelPath);
  try {
    const expected: Float32Array[] = [];
    for (const body of bodies) expected.push(Float32Array.from(await runBatch(session, body.input, 1)));

    const batches: BatchThroughput[] = [];
    for (const rows of batchSizes) batches.push(await throughput(session, bodies, rows, secondsPerBatch));
    const best = batches.reduce((a, b) => (b.samplesPerSecond > a.samplesPerSecond ? b : a));

    const latencies: number[] = [];
    for (let i = 0; i < 50 + latencyRuns; i += 1) {
      const input = bodies[i % bodies.length]!.input;
      const start = process.hrtime.bigint();
      await runBatch(session, input, 1);
      if (i >= 50) latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return {
      intraOpThreads: INTRA_OP_THREADS,
      batches,
      best,
      rawLatencyBatch1: {
        runs: latencies.length,
        p50Ms: round(percentile(latencies, 50), 4),
        p99Ms: round(percentile(latencies, 99), 4),
        meanMs: round(mean(latencies), 4),
        minMs: round(Math.min(...latencies), 4),
      },
      expected,
    };
  } finally {
    await session.release();
  }
}
