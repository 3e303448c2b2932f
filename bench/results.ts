import type { CheapTierStage } from './cheap-tier.js';
import type { ComputeLimit } from './compute-limit.js';
import type { DistributedStage } from './distributed-stage.js';
import type { BatchingFigures } from './gateway-stats.js';
import type { LoadResult } from './load.js';
import type { MachineInfo } from './machine-info.js';
import type { RssSoak } from './rss-soak.js';
import type { SequentialLatency } from './sequential-latency.js';
import type { Verdict } from './targets.js';
import type { OutputCheck } from './verify-outputs.js';

/** Everything one bench run measured: the shape of bench/results/serving-core.json. */
export interface BenchResults {
  readonly machine: MachineInfo & { readonly loadAverageAtEnd: number; readonly benchSeconds: number };
  readonly settings: Record<string, unknown>;
  readonly computeLimit: Omit<ComputeLimit, 'expected'>;
  readonly httpCeiling: { readonly c64: LoadResult; readonly sequential: SequentialLatency };
  readonly naive: {
    readonly c64: LoadResult;
    readonly c1: LoadResult;
    readonly sequential: SequentialLatency;
    readonly outputCheck: OutputCheck;
  };
  readonly gateway: {
    readonly c64: LoadResult;
    readonly batchingAt64: BatchingFigures;
    readonly c1: LoadResult;
    readonly sequential: SequentialLatency;
    readonly outputCheck: OutputCheck;
    readonly soak: RssSoak;
    readonly batchingDuringSoak: BatchingFigures;
    /** What the gateway wrote at LOG_LEVEL=warn before it was stopped (empty is good). */
    readonly log: string;
  };
  /** The int8 version as the cheap tier of the shipped `classify` route, against fp32 alone. */
  readonly cheapTier: CheapTierStage;
  /** Gateway + one worker + Redis on this machine, measured like the embedded gateway. */
  readonly distributed: DistributedStage;
  readonly targets: readonly Verdict[];
  /** Things that broke (errors, wrong answers): any makes the run exit non-zero. */
  readonly problems: readonly string[];
}

export type Measurements = Omit<BenchResults, 'targets' | 'problems'>;
