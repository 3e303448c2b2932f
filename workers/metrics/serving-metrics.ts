import { Gauge, Histogram, type Registry } from 'prom-client';
import type { Tensor } from '../protocol/tensor.js';
import { ConfidenceDrift } from './confidence-drift.js';
import { topProbabilities } from './output-confidence.js';
import { LeanCounter, LeanHistogram, type CounterSeries, type HistogramSeries } from './lean-families.js';
import { LATENCY_BUCKETS, METRIC_PREFIX } from './registry.js';

/** Where a request was when its caller left: a batcher's queue, a gateway's gathering group, a queued job, a running batch. */
export type CancelStage = 'queued' | 'gathering' | 'job' | 'running';
export const CANCELLED_HELP =
  "Requests whose caller left before the answer, by where they were: queued (left the batcher unrun), gathering (left the gateway's group unsent), job (skipped by the worker), running (rows computed and dropped)";

const name = (suffix: string): string => `${METRIC_PREFIX}${suffix}`;
const VERSION_LABELS = ['model', 'version'] as const;
const key = (model: string, version: string): string => `${model}\u0000${version}`;

/** One model version's handles on the per-request families, looked up once. */
interface VersionMeters {
  readonly success: CounterSeries;
  readonly inferences: CounterSeries;
  readonly executions: CounterSeries;
  readonly batchSize: HistogramSeries;
  readonly queue: HistogramSeries;
  readonly compute: HistogramSeries;
  readonly request: HistogramSeries;
  readonly confidence: HistogramSeries;
  readonly drift: ConfidenceDrift;
}

export interface ServingMetricsOptions {
  /** Confidences in the drift baseline, and in its sliding window (default 1,000). */
  readonly driftWindow?: number;
}

/**
 * Triton's serving families, recorded by VersionPool. The pool runs on the main thread of
 * whichever process holds the ModelManager (the embedded gateway, or a worker): inference
 * itself runs in instance threads, but each batch's timings (BatchRunResult.computeMs) come
 * back to the main thread with its outputs, so everything is counted here, in one registry
 * per process, and nothing measured in a thread is lost. Labels are model and version names
 * from the repository, and ServingError codes: a bounded set.
 */
export class ServingMetrics {
  readonly #requests: LeanCounter;
  readonly #inferences: LeanCounter;
  readonly #executions: LeanCounter;
  readonly #batchSize: LeanHistogram;
  readonly #queue: LeanHistogram;
  readonly #compute: LeanHistogram;
  readonly #request: LeanHistogram;
  readonly #load: Histogram<'model' | 'version'>;
  readonly #confidence: LeanHistogram;
  readonly #cancelled: LeanCounter;
  readonly #meters = new Map<string, VersionMeters>();
  /** Queue lengths are read when scraped, from the pools that hold them. */
  readonly #pending = new Map<string, { model: string; version: string; queued: () => number }>();
  readonly #drift = new Map<string, { model: string; version: string; drift: ConfidenceDrift }>();
  /** Batch caps are read when scraped too. */
  readonly #caps = new Map<string, { model: string; version: string; cap: () => number }>();
  readonly #driftWindow: number;

  constructor(registry: Registry, options: ServingMetricsOptions = {}) {
    this.#driftWindow = options.driftWindow ?? 1_000;
    const registers = [registry];
    this.#requests = new LeanCounter(
      name('inference_requests_total'),
      'Inference requests by outcome: success, or the error code they failed with',
      registry,
    );
    this.#inferences = new LeanCounter(name('inference_count_total'), 'Inferences run (a batch of n rows counts n)', registry);
    this.#executions = new LeanCounter(
      name('execution_count_total'),
      'Batches run; inference_count / execution_count is the mean batch size',
      registry,
    );
    this.#batchSize = new LeanHistogram(name('batch_size'), 'Rows per executed batch', [1, 2, 4, 8, 16, 32, 64, 128, 256], registry);
    this.#queue = new LeanHistogram(
      name('queue_duration_seconds'),
      'Time a request waited in the batcher before its batch started',
      LATENCY_BUCKETS,
      registry,
    );
    this.#compute = new LeanHistogram(
      name('compute_duration_seconds'),
      'Model run time of each batch, measured on its instance thread',
      LATENCY_BUCKETS,
      registry,
    );
    this.#request = new LeanHistogram(
      name('request_duration_seconds'),
      'From a request entering its version queue to its answer, failures included',
      LATENCY_BUCKETS,
      registry,
    );
    this.#load = new Histogram({
      name: name('model_load_duration_seconds'),
      help: 'Starting and warming every instance of a model version',
      labelNames: VERSION_LABELS,
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.#confidence = new LeanHistogram(
      name('output_confidence'),
      'Top probability per row of the first output, for outputs that hold probabilities',
      [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1],
      registry,
    );
    this.#cancelled = new LeanCounter(name('cancelled_requests_total'), CANCELLED_HELP, registry);
    const pending = this.#pending;
    new Gauge({
      name: name('pending_requests'),
      help: 'Requests waiting in a version queue for a batch',
      labelNames: VERSION_LABELS,
      registers,
      collect() {
        this.reset();
        for (const entry of pending.values()) this.set({ model: entry.model, version: entry.version }, entry.queued());
      },
    });
    const caps = this.#caps;
    new Gauge({
      name: name('batch_cap'),
      help: 'Most rows the batcher puts in one batch: the warm-up size with the best time per row (max_batch_size when the largest was best)',
      labelNames: VERSION_LABELS,
      registers,
      collect() {
        this.reset();
        for (const entry of caps.values()) this.set({ model: entry.model, version: entry.version }, entry.cap());
      },
    });
    const drift = this.#drift;
    new Gauge({
      name: name('output_drift_psi'),
      help: 'Population stability index of output confidence: the latest window against the first one after start (> 0.2: significant shift)',
      labelNames: VERSION_LABELS,
      registers,
      collect() {
        this.reset();
        for (const entry of drift.values()) {
          const psi = entry.drift.psi();
          if (psi !== undefined) this.set({ model: entry.model, version: entry.version }, psi);
        }
      },
    });
  }

  /** Reports the pool's queue length at each scrape; the returned function stops it (only if not since replaced by a reload). */
  trackPending(model: string, version: string, queued: () => number): () => void {
    const entry = { model, version, queued };
    this.#pending.set(key(model, version), entry);
    return () => {
      if (this.#pending.get(key(model, version)) === entry) this.#pending.delete(key(model, version));
    };
  }

  /** Reports the version's batch cap at each scrape; the returned function stops it (only if not since replaced by a reload). */
  trackBatchCap(model: string, version: string, cap: () => number): () => void {
    const entry = { model, version, cap };
    this.#caps.set(key(model, version), entry);
    return () => {
      if (this.#caps.get(key(model, version)) === entry) this.#caps.delete(key(model, version));
    };
  }

  modelLoaded(model: string, version: string, seconds: number): void {
    this.#load.observe({ model, version }, seconds);
  }

  execution(model: string, version: string, rows: number, computeMs: number): void {
    const meters = this.#metersFor(model, version);
    meters.executions.inc();
    meters.inferences.inc(rows);
    meters.batchSize.observe(rows);
    meters.compute.observe(computeMs / 1000);
  }

  /** `outcome` is 'success' or a ServingError code. */
  request(model: string, version: string, outcome: string, totalMs: number, queueMs: number | undefined): void {
    const meters = this.#metersFor(model, version);
    (outcome === 'success' ? meters.success : this.#requests.series({ model, version, outcome })).inc();
    meters.request.observe(totalMs / 1000);
    if (queueMs !== undefined) meters.queue.observe(queueMs / 1000);
  }

  /** A request whose caller left: still queued (never run) or in a running batch (its rows dropped). */
  cancelled(model: string, version: string, stage: CancelStage): void {
    this.#cancelled.series({ model, version, stage }).inc();
  }

  /** Records the row-wise top probabilities of a first output of `classes` values per row. */
  outputs(model: string, version: string, first: Tensor, classes: number): void {
    const tops = topProbabilities(first, classes);
    if (!tops) return;
    const meters = this.#metersFor(model, version);
    for (const top of tops) {
      meters.confidence.observe(top);
      meters.drift.add(top);
    }
  }

  #metersFor(model: string, version: string): VersionMeters {
    const id = key(model, version);
    let meters = this.#meters.get(id);
    if (!meters) {
      const labels = { model, version };
      const drift = new ConfidenceDrift(this.#driftWindow);
      this.#drift.set(id, { model, version, drift });
      meters = {
        success: this.#requests.series({ model, version, outcome: 'success' }),
        inferences: this.#inferences.series(labels),
        executions: this.#executions.series(labels),
        batchSize: this.#batchSize.series(labels),
        queue: this.#queue.series(labels),
        compute: this.#compute.series(labels),
        request: this.#request.series(labels),
        confidence: this.#confidence.series(labels),
        drift,
      };
      this.#meters.set(id, meters);
    }
    return meters;
  }
}
