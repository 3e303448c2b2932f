import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Tensor } from '../protocol/tensor.js';
import { ConfidenceDrift } from './confidence-drift.js';
import { topProbabilities } from './output-confidence.js';
import { LATENCY_BUCKETS, METRIC_PREFIX } from './registry.js';

const name = (suffix: string): string => `${METRIC_PREFIX}${suffix}`;
const VERSION_LABELS = ['model', 'version'] as const;
const key = (model: string, version: string): string => `${model}\u0000${version}`;

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
  readonly #requests: Counter<'model' | 'version' | 'outcome'>;
  readonly #inferences: Counter<'model' | 'version'>;
  readonly #executions: Counter<'model' | 'version'>;
  readonly #batchSize: Histogram<'model' | 'version'>;
  readonly #queue: Histogram<'model' | 'version'>;
  readonly #compute: Histogram<'model' | 'version'>;
  readonly #request: Histogram<'model' | 'version'>;
  readonly #load: Histogram<'model' | 'version'>;
  readonly #confidence: Histogram<'model' | 'version'>;
  /** Queue lengths are read when scraped, from the pools that hold them. */
  readonly #pending = new Map<string, { model: string; version: string; queued: () => number }>();
  readonly #drift = new Map<string, { model: string; version: string; drift: ConfidenceDrift }>();
  readonly #driftWindow: number;

  constructor(registry: Registry, options: ServingMetricsOptions = {}) {
    this.#driftWindow = options.driftWindow ?? 1_000;
    const registers = [registry];
    this.#requests = new Counter({ name: name('inference_requests_total'), help: 'Inference requests by outcome: success, or the error code they failed with', labelNames: ['model', 'version', 'outcome'], registers });
    this.#inferences = new Counter({ name: name('inference_count_total'), help: 'Inferences run (a batch of n rows counts n)', labelNames: VERSION_LABELS, registers });
    this.#executions = new Counter({ name: name('execution_count_total'), help: 'Batches run; inference_count / execution_count is the mean batch size', labelNames: VERSION_LABELS, registers });
    this.#batchSize = new Histogram({ name: name('batch_size'), help: 'Rows per executed batch', labelNames: VERSION_LABELS, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers });
    this.#queue = new Histogram({ name: name('queue_duration_seconds'), help: 'Time a request waited in the batcher before its batch started', labelNames: VERSION_LABELS, buckets: LATENCY_BUCKETS, registers });
    this.#compute = new Histogram({ name: name('compute_duration_seconds'), help: 'Model run time of each batch, measured on its instance thread', labelNames: VERSION_LABELS, buckets: LATENCY_BUCKETS, registers });
    this.#request = new Histogram({ name: name('request_duration_seconds'), help: 'From a request entering its version queue to its answer, failures included', labelNames: VERSION_LABELS, buckets: LATENCY_BUCKETS, registers });
    this.#load = new Histogram({ name: name('model_load_duration_seconds'), help: 'Starting and warming every instance of a model version', labelNames: VERSION_LABELS, buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300], registers });
    this.#confidence = new Histogram({ name: name('output_confidence'), help: 'Top probability per row of the first output, for outputs that hold probabilities', labelNames: VERSION_LABELS, buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1], registers });
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

  modelLoaded(model: string, version: string, seconds: number): void {
    this.#load.observe({ model, version }, seconds);
  }

  execution(model: string, version: string, rows: number, computeMs: number): void {
    const labels = { model, version };
    this.#executions.inc(labels);
    this.#inferences.inc(labels, rows);
    this.#batchSize.observe(labels, rows);
    this.#compute.observe(labels, computeMs / 1000);
  }

  /** `outcome` is 'success' or a ServingError code. */
  request(model: string, version: string, outcome: string, totalMs: number, queueMs: number | undefined): void {
    const labels = { model, version };
    this.#requests.inc({ model, version, outcome });
    this.#request.observe(labels, totalMs / 1000);
    if (queueMs !== undefined) this.#queue.observe(labels, queueMs / 1000);
  }

  /** Records the row-wise top probabilities of a first output of `classes` values per row. */
  outputs(model: string, version: string, first: Tensor, classes: number): void {
    const tops = topProbabilities(first, classes);
    if (!tops) return;
    const labels = { model, version };
    let entry = this.#drift.get(key(model, version));
    if (!entry) {
      entry = { model, version, drift: new ConfidenceDrift(this.#driftWindow) };
      this.#drift.set(key(model, version), entry);
    }
    for (const top of tops) {
      this.#confidence.observe(labels, top);
      entry.drift.add(top);
    }
  }
}
