import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';

/** Bench knobs, each overridable from the environment so development runs can be short. */
function seconds(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not "${raw}"`);
  return value;
}

/** dist/bench/settings.js -> repository root. */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const MODEL_NAME = 'mlp-classifier';
/** The fp32 version: requests that name no version get it (the model's default_version). */
export const MODEL_VERSION = '1';
export const MODEL_PATH = resolve(REPO_ROOT, 'models', MODEL_NAME, '1', 'model.onnx');
export const RESULTS_DIR = resolve(REPO_ROOT, 'bench', 'results');
export const INFER_PATH = `/v2/models/${MODEL_NAME}/infer`;
/** The shape of the model's BullMQ job hashes under the prefix (see redis-key-groups.ts). */
export const JOB_HASHES = `infer.${MODEL_NAME}.1:<id>`;
/** Distributed mode's Redis (shared: the bench writes only under a prefix of its own). */
export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

export const settings = {
  /** Each measured autocannon run. */
  durationSeconds: seconds('BENCH_DURATION_SECONDS', 10),
  /** Discarded autocannon run before each measured one: JIT, connection set-up, allocator. */
  warmupSeconds: seconds('BENCH_WARMUP_SECONDS', 2),
  soakSeconds: seconds('BENCH_SOAK_SECONDS', 60),
  /** Timed loop per batch size in the compute-limit stage. */
  computeSecondsPerBatch: seconds('BENCH_COMPUTE_SECONDS', 2),
  rawLatencyRuns: Math.round(seconds('BENCH_RAW_RUNS', 500)),
  sequentialRequests: Math.round(seconds('BENCH_LATENCY_REQUESTS', 1000)),
  highConnections: 64,
  /** Alternating embedded/distributed runs the distributed throughput ratio is the median of. */
  pairedRounds: Math.round(seconds('BENCH_PAIRED_ROUNDS', 5)),
  batchSizes: [1, 8, 16, 32, 64] as const,
  /** Distinct request bodies cycled through, so no layer can cache one answer. */
  bodyCount: 32,
  /** CPU_COUNT for the embedded gateway and the distributed worker alike. */
  cpuCount: availableParallelism(),
  /**
   * Wait before reading distributed statistics: workers beat every 1 s and the gateway
   * polls every 1 s, so a figure can lag the load by up to ~2 s.
   */
  distributedStatsSettleMs: 2_500,
  /** `npm run bench:redis-soak`: requests sent, and the result retention it runs with. */
  redisSoakRequests: Math.round(seconds('BENCH_REDIS_SOAK_REQUESTS', 100_000)),
  redisSoakRetentionSeconds: Math.round(seconds('BENCH_REDIS_SOAK_RETENTION_SECONDS', 10)),
} as const;
