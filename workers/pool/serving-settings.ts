import type { ModelConfig } from '../repository/model-config.js';
import { hardwareKeys, type Hardware } from './hardware.js';

/** How one version is served: instances, threads and batching, from a `tuned` block or the hand-written config. */
export interface ServingSettings {
  readonly instanceCount: number;
  readonly intraOpThreads: number;
  /** Rows the batcher puts in one batch (at least 1). */
  readonly maxBatchSize: number;
  readonly preferredBatchSizes: readonly number[];
  readonly maxQueueDelayMs: number;
  /** The hardware key of the tuned block used, or undefined for the hand-written settings. */
  readonly tunedFor: string | undefined;
  /** The provider the tuned block was measured on. */
  readonly tunedProvider: string | undefined;
}

/** The hand-written settings; threads default to the cores divided among the instances. */
export function configuredSettings(config: ModelConfig, cpuCount: number): ServingSettings {
  const count = config.instance_group.count;
  return {
    instanceCount: count,
    intraOpThreads: config.intra_op_threads ?? Math.max(1, Math.floor(cpuCount / count)),
    maxBatchSize: Math.max(1, config.max_batch_size),
    preferredBatchSizes: config.dynamic_batching.preferred_batch_sizes,
    maxQueueDelayMs: config.dynamic_batching.max_queue_delay_ms,
    tunedFor: undefined,
    tunedProvider: undefined,
  };
}

/** The tuned block for this machine when the config has one for the version, else the hand-written settings. */
export function servingSettings(config: ModelConfig, version: string, hardware: Hardware, cpuCount: number): ServingSettings {
  for (const key of hardwareKeys(config, hardware)) {
    const tuned = config.tuned[key]?.[version];
    if (!tuned) continue;
    return {
      instanceCount: tuned.instance_count,
      intraOpThreads: tuned.intra_op_threads,
      maxBatchSize: Math.max(1, tuned.max_batch_size),
      preferredBatchSizes: tuned.preferred_batch_sizes,
      maxQueueDelayMs: tuned.max_queue_delay_ms,
      tunedFor: key,
      tunedProvider: tuned.provider,
    };
  }
  return configuredSettings(config, cpuCount);
}
