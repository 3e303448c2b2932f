import { MODEL_VERSION } from './settings.js';
import { round } from './stats.js';

/** The part of a Triton-style model_stats entry that the batch figures need. */
export interface StatsSnapshot {
  readonly inferenceCount: number;
  readonly executionCount: number;
  readonly failCount: number;
  /** Executions per batch size (rows). */
  readonly executionsByBatch: Map<number, number>;
}

export interface BatchingFigures {
  readonly inferences: number;
  readonly executions: number;
  /** Inferences per execution over the window: the batcher's mean batch size. */
  readonly meanBatchSize: number;
  readonly failedRequests: number;
  /** Executions per batch size, largest shares first (top 8). */
  readonly topBatchSizes: { readonly batchSize: number; readonly executions: number }[];
}

interface RawStats {
  model_stats?: {
    inference_count?: number;
    execution_count?: number;
    inference_stats?: { fail?: { count?: number } };
    batch_stats?: { batch_size: number; compute_infer?: { count?: number } }[];
  }[];
}

export async function readStats(baseUrl: string, model: string, version = MODEL_VERSION): Promise<StatsSnapshot> {
  // One version's figures: the model also serves its int8 version, which the bench's requests never reach.
  const response = await fetch(new URL(`/v2/models/${model}/versions/${version}/stats`, baseUrl));
  if (response.status !== 200) throw new Error(`stats answered ${response.status}: ${await response.text()}`);
  const entry = ((await response.json()) as RawStats).model_stats?.[0];
  if (!entry) throw new Error(`stats for ${model} are empty`);
  return {
    inferenceCount: entry.inference_count ?? 0,
    executionCount: entry.execution_count ?? 0,
    failCount: entry.inference_stats?.fail?.count ?? 0,
    executionsByBatch: new Map((entry.batch_stats ?? []).map((b) => [b.batch_size, b.compute_infer?.count ?? 0])),
  };
}

/** What happened between two snapshots (the counters are cumulative). */
export function batchingBetween(before: StatsSnapshot, after: StatsSnapshot): BatchingFigures {
  const inferences = after.inferenceCount - before.inferenceCount;
  const executions = after.executionCount - before.executionCount;
  const byBatch = [...after.executionsByBatch]
    .map(([batchSize, count]) => ({ batchSize, executions: count - (before.executionsByBatch.get(batchSize) ?? 0) }))
    .filter((entry) => entry.executions > 0)
    .sort((a, b) => b.executions - a.executions)
    .slice(0, 8);
  return {
    inferences,
    executions,
    meanBatchSize: executions > 0 ? round(inferences / executions, 2) : 0,
    failedRequests: after.failCount - before.failCount,
    topBatchSizes: byBatch,
  };
}
