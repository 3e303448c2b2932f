/** One configuration the tuner tries: what a `tuned` block holds. */
export interface Candidate {
  readonly instanceCount: number;
  readonly intraOpThreads: number;
  /** 0 for a model that does not batch. */
  readonly maxBatchSize: number;
  readonly preferredBatchSizes: readonly number[];
  readonly maxQueueDelayMs: number;
}

export interface Layout {
  readonly instances: number;
  readonly threads: number;
}

export function candidateKey(candidate: Candidate): string {
  const { instanceCount, intraOpThreads, maxBatchSize, preferredBatchSizes, maxQueueDelayMs } = candidate;
  return `${instanceCount}x${intraOpThreads} b${maxBatchSize} p[${preferredBatchSizes.join(',')}] d${maxQueueDelayMs}`;
}

/**
 * Instances × threads that use the cores once over: one instance with every core, down to one
 * single-threaded instance per core (in powers of two). On a GPU the instances share the device:
 * a few, each with a share of the cores for what runs outside the GPU.
 */
export function instanceLayouts(cores: number, onGpu: boolean): Layout[] {
  const counts: number[] = [];
  const most = onGpu ? Math.min(4, Math.max(2, cores)) : cores;
  for (let instances = 1; instances <= most; instances *= 2) counts.push(instances);
  if (!onGpu && !counts.includes(cores)) counts.push(cores);
  return counts.map((instances) => ({ instances, threads: Math.max(1, Math.floor(cores / instances)) }));
}

/** Batch sizes worth trying: 1, powers of two, and the model's own limit. */
export function batchSizes(modelMax: number): number[] {
  if (modelMax === 0) return [0];
  const sizes: number[] = [];
  for (let size = 1; size < modelMax; size *= 2) sizes.push(size);
  sizes.push(modelMax);
  return sizes;
}

/** A batching variant of a layout; a batch of 1 has nothing to wait for. */
export function batching(layout: Layout, maxBatchSize: number, delayMs: number, preferred: readonly number[] = []): Candidate {
  const batches = maxBatchSize > 1;
  return {
    instanceCount: layout.instances,
    intraOpThreads: layout.threads,
    maxBatchSize,
    preferredBatchSizes: batches ? preferred : [],
    maxQueueDelayMs: batches ? delayMs : 0,
  };
}
