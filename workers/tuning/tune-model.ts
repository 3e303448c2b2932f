import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { DEFAULT_MAX_AUDIO_SECONDS } from '../media/audio-threads.js';
import { detectHardware, measuredKey, type Hardware } from '../pool/hardware.js';
import { configuredSettings, type ServingSettings } from '../pool/serving-settings.js';
import { VersionPool } from '../pool/version-pool.js';
import { readModelDefinition, type ModelDefinition } from '../repository/load-repository.js';
import { defaultVersion } from '../repository/model-config.js';
import { resolveWeights } from '../repository/resolve-weights.js';
import { instanceFactoryFor } from '../runtime/instance-factory.js';
import { closedLoop, requestFactory } from './closed-loop.js';
import { choose, search, type MeasureCandidate, type Trial } from './search.js';

export interface TuneOptions {
  readonly repository: string;
  readonly model: string;
  /** Default: the version a request that names none gets. */
  readonly version?: string;
  /** Default: the model's default_timeout_ms / 4. */
  readonly latencyBudgetMs?: number;
  readonly concurrency: number;
  readonly rampMs: number;
  readonly measureMs: number;
  readonly maxConfigs: number;
  /** No configuration starts after this long. */
  readonly timeBudgetMs: number;
  readonly cpuCount: number;
  readonly hardware?: Hardware;
  /** Called after each configuration, for progress output. */
  readonly onTrial?: (trial: Trial) => void;
}

export interface TuneResult {
  readonly definition: ModelDefinition;
  readonly version: string;
  readonly hardware: Hardware;
  /** The key the choice is filed under: the GPU's when the instances ran on one, else the CPU's. */
  readonly hardwareKey: string;
  readonly provider: string;
  readonly latencyBudgetMs: number;
  readonly concurrency: number;
  readonly trials: readonly Trial[];
  readonly chosen: Trial | undefined;
  readonly elapsedMs: number;
}

/** The version asked for is not in the model's config (a usage error, not a crash). */
export class UnknownVersionError extends Error {
  override name = 'UnknownVersionError';
}

/**
 * Sweeps serving configurations of one model version through the real serving path (a
 * VersionPool with its batcher and instance threads, in this process) under closed-loop load.
 */
export async function tuneModel(options: TuneOptions): Promise<TuneResult> {
  const started = performance.now();
  const definition = await readModelDefinition(options.repository, options.model);
  const { config } = definition;
  const version = options.version ?? defaultVersion(config);
  if (version === undefined || !(version in config.versions))
    throw new UnknownVersionError(`${options.model} has no version ${options.version ?? '(none served)'}`);
  const modelPath = resolveWeights(definition, version);
  const hardware = options.hardware ?? detectHardware(options.cpuCount);
  const latencyBudgetMs = options.latencyBudgetMs ?? config.dynamic_batching.default_timeout_ms / 4;
  const silent = pino({ level: 'silent' });
  const createInstance = instanceFactoryFor(silent)(config.platform);
  const makeRequest = requestFactory(config, definition.name, version);
  const configured = configuredSettings(config, options.cpuCount);
  let provider = '';

  const measure: MeasureCandidate = async (candidate, stage, stopEarly) => {
    const settings: ServingSettings = {
      instanceCount: candidate.instanceCount,
      intraOpThreads: candidate.intraOpThreads,
      maxBatchSize: Math.max(1, candidate.maxBatchSize),
      preferredBatchSizes: candidate.preferredBatchSizes,
      maxQueueDelayMs: candidate.maxQueueDelayMs,
      tunedFor: undefined,
      tunedProvider: undefined,
    };
    const { cpuCount, concurrency, rampMs, measureMs } = options;
    // The load is tensors, never encoded media: the media limits are never reached.
    const limits = { maxImagePixels: 40_000_000, maxAudioSeconds: DEFAULT_MAX_AUDIO_SECONDS };
    const pool = new VersionPool({
      definition,
      version,
      modelPath,
      createInstance,
      cpuCount,
      ...limits,
      logger: silent,
      hardware,
      settings,
    });
    const loadStarted = performance.now();
    let trial: Trial;
    try {
      await pool.load();
      const loadMs = performance.now() - loadStarted;
      provider ||= pool.providers[0] ?? '';
      const measured = await closedLoop(pool, makeRequest, { concurrency, rampMs, measureMs, stopEarly });
      trial = { candidate, stage, loadMs, provider: pool.providers.join(','), batchCap: pool.batchCap, measured };
    } catch (error) {
      trial = {
        candidate,
        stage,
        loadMs: performance.now() - loadStarted,
        provider: pool.providers.join(','),
        error: (error as Error).message,
      };
    } finally {
      await pool.unload().catch(() => undefined);
    }
    options.onTrial?.(trial);
    return trial;
  };

  const trials = await search(
    {
      cores: options.cpuCount,
      modelMaxBatch: config.max_batch_size,
      configured: {
        instanceCount: configured.instanceCount,
        intraOpThreads: configured.intraOpThreads,
        maxBatchSize: config.max_batch_size === 0 ? 0 : configured.maxBatchSize,
        preferredBatchSizes: configured.preferredBatchSizes,
        maxQueueDelayMs: configured.maxQueueDelayMs,
      },
      latencyBudgetMs,
      maxConfigs: options.maxConfigs,
      deadline: started + options.timeBudgetMs,
      now: () => performance.now(),
    },
    measure,
    () => provider === 'cuda' || provider.includes('gpu'),
  );
  return {
    definition,
    version,
    hardware,
    hardwareKey: measuredKey(config, hardware, provider),
    provider,
    latencyBudgetMs,
    concurrency: options.concurrency,
    trials,
    chosen: choose(trials, latencyBudgetMs),
    elapsedMs: performance.now() - started,
  };
}
