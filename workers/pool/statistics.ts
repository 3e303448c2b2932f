import type { CurvePoint } from '../batching/batch-cap.js';
import type { ServingSettings } from './serving-settings.js';

/** Per model version counters in the shape of Triton's statistics extension (durations in ns). */
interface Duration {
  count: number;
  ns: number;
}

export interface VersionStatistics {
  readonly name: string;
  readonly version: string;
  readonly last_inference: number;
  readonly inference_count: number;
  readonly execution_count: number;
  readonly inference_stats: Readonly<Record<'success' | 'fail' | 'queue' | 'compute_input' | 'compute_infer' | 'compute_output', Duration>>;
  /** Per batch size, its executions: count and time of each phase. */
  readonly batch_stats: readonly BatchStatistics[];
  /** Switchyard's own: the settings the version is served with, and where they came from. */
  readonly serving?: ServingSummary;
  /** Warm-up time of one batch at each size, and the cap the batcher took from it. */
  readonly warmup_curve?: readonly { batch_size: number; ms: number; ms_per_row: number }[];
  readonly batch_cap?: number;
  /** Set when lone requests may run inline: the batch-1 run time that allowed it, and the requests so served. */
  readonly inline?: { readonly batch1_ms: number; readonly runs: number };
}

export interface BatchStatistics {
  readonly batch_size: number;
  readonly compute_input: Duration;
  readonly compute_infer: Duration;
  readonly compute_output: Duration;
}

/** A batch's phases, as a runtime measured them. */
export interface ComputeTimes {
  readonly inputMs: number;
  readonly computeMs: number;
  readonly outputMs: number;
}

export interface ServingSummary {
  /** `tuned` (a tuned block for this machine's hardware key) or `config` (the hand-written settings). */
  readonly source: 'tuned' | 'config';
  readonly hardware?: string;
  readonly instance_count: number;
  readonly intra_op_threads: number;
  readonly max_batch_size: number;
  readonly preferred_batch_sizes: readonly number[];
  readonly max_queue_delay_ms: number;
}

export function servingSummary(settings: ServingSettings): ServingSummary {
  return {
    source: settings.tunedFor ? 'tuned' : 'config',
    ...(settings.tunedFor ? { hardware: settings.tunedFor } : {}),
    instance_count: settings.instanceCount,
    intra_op_threads: settings.intraOpThreads,
    max_batch_size: settings.maxBatchSize,
    preferred_batch_sizes: settings.preferredBatchSizes,
    max_queue_delay_ms: settings.maxQueueDelayMs,
  };
}

const msToNs = (ms: number): number => Math.round(ms * 1e6);
const zero = (): Duration => ({ count: 0, ns: 0 });
const round = (ms: number): number => Math.round(ms * 1000) / 1000;

export class StatisticsRecorder {
  #lastInference = 0;
  #inferences = 0;
  #executions = 0;
  readonly #stats = {
    success: { count: 0, ns: 0 },
    fail: { count: 0, ns: 0 },
    queue: { count: 0, ns: 0 },
    compute_input: { count: 0, ns: 0 },
    compute_infer: { count: 0, ns: 0 },
    compute_output: { count: 0, ns: 0 },
  };
  readonly #byBatchSize = new Map<number, { compute_input: Duration; compute_infer: Duration; compute_output: Duration }>();
  #serving: ServingSummary | undefined;
  #curve: readonly CurvePoint[] = [];
  #batchCap: number | undefined;
  #inline: { batch1_ms: number; runs: number } | undefined;

  serving(settings: ServingSettings): void {
    this.#serving = servingSummary(settings);
  }

  warmup(curve: readonly CurvePoint[], cap: number): void {
    this.#curve = curve;
    this.#batchCap = cap;
  }

  /** Lone requests may run inline: their batch-1 run measured `ms`. */
  inlineAllowed(ms: number): void {
    this.#inline = { batch1_ms: round(ms), runs: 0 };
  }

  recordInlineRun(): void {
    if (this.#inline) this.#inline.runs += 1;
  }

  /** One batch ran: `rows` inferences in one execution (batch_stats count executions, as Triton's do). */
  recordExecution(rows: number, times: ComputeTimes): void {
    this.#executions += 1;
    this.#inferences += rows;
    this.#lastInference = Date.now();
    let entry = this.#byBatchSize.get(rows);
    if (!entry) this.#byBatchSize.set(rows, (entry = { compute_input: zero(), compute_infer: zero(), compute_output: zero() }));
    this.#addPhases(entry, times);
  }

  /**
   * One request answered (or failed). Its compute phases are its batch's, counted per request as
   * Triton counts them: perf_analyzer divides compute time by the success count.
   */
  recordRequest(ok: boolean, totalMs: number, queueMs: number | undefined, times?: ComputeTimes): void {
    this.#add(ok ? this.#stats.success : this.#stats.fail, totalMs);
    if (queueMs !== undefined) this.#add(this.#stats.queue, queueMs);
    if (ok && times) this.#addPhases(this.#stats, times);
  }

  snapshot(name: string, version: string): VersionStatistics {
    const copy = (d: Duration): Duration => ({ count: d.count, ns: d.ns });
    return {
      name,
      version,
      last_inference: this.#lastInference,
      inference_count: this.#inferences,
      execution_count: this.#executions,
      inference_stats: {
        success: copy(this.#stats.success),
        fail: copy(this.#stats.fail),
        queue: copy(this.#stats.queue),
        compute_input: copy(this.#stats.compute_input),
        compute_infer: copy(this.#stats.compute_infer),
        compute_output: copy(this.#stats.compute_output),
      },
      batch_stats: [...this.#byBatchSize.entries()]
        .sort(([a], [b]) => a - b)
        .map(([batch_size, d]) => ({
          batch_size,
          compute_input: copy(d.compute_input),
          compute_infer: copy(d.compute_infer),
          compute_output: copy(d.compute_output),
        })),
      ...(this.#serving ? { serving: this.#serving } : {}),
      ...(this.#curve.length > 0
        ? { warmup_curve: this.#curve.map(({ rows, ms }) => ({ batch_size: rows, ms: round(ms), ms_per_row: round(ms / rows) })) }
        : {}),
      ...(this.#batchCap !== undefined ? { batch_cap: this.#batchCap } : {}),
      ...(this.#inline ? { inline: { ...this.#inline } } : {}),
    };
  }

  #addPhases(target: { compute_input: Duration; compute_infer: Duration; compute_output: Duration }, times: ComputeTimes): void {
    this.#add(target.compute_input, times.inputMs);
    this.#add(target.compute_infer, times.computeMs);
    this.#add(target.compute_output, times.outputMs);
  }

  #add(target: Duration, ms: number): void {
    target.count += 1;
    target.ns += msToNs(ms);
  }
}
