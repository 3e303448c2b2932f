import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { batchCap, type CurvePoint } from '../batching/batch-cap.js';
import { DynamicBatcher, type BatchItem } from '../batching/dynamic-batcher.js';
import { decodeAudio } from '../media/decode-audio.js';
import { decodeImages } from '../media/decode-images.js';
import { isServingError, ServingError } from '../protocol/errors.js';
import type { InferResult, ValidInferRequest } from '../protocol/inference.js';
import type { ModelDefinition } from '../repository/load-repository.js';
import type { InstanceFactory, InstanceSpec, ModelInstance } from '../runtime/runtime.js';
import { probabilityClasses } from '../metrics/output-confidence.js';
import type { ServingMetrics } from '../metrics/serving-metrics.js';
import { detectHardware, hardwareKeys, type Hardware } from './hardware.js';
import { INLINE_MAX_MS, INLINE_REST_MS, InlineInstance } from './inline-instance.js';
import { ModelState } from './model-state.js';
import { servingSettings, type ServingSettings } from './serving-settings.js';
import { StatisticsRecorder } from './statistics.js';
import { traceBatch } from '../tracing/batch-trace.js';
import { warmUp, warmupBatchSizes } from './warmup.js';
import { RunFailedError } from '../runtime/run-failed.js';

interface Waiting extends BatchItem {
  readonly request: ValidInferRequest;
  readonly enqueuedAtPerf: number;
  resolve(result: InferResult): void;
  reject(error: Error): void;
  settled(): boolean;
}

export interface VersionPoolOptions {
  readonly definition: ModelDefinition;
  readonly version: string;
  readonly modelPath: string;
  readonly createInstance: InstanceFactory;
  readonly cpuCount: number;
  /** Encoded images with more pixels are refused. */
  readonly maxImagePixels: number;
  /** Audio one request may carry, in seconds, all its clips together. */
  readonly maxAudioSeconds: number;
  readonly logger: Logger;
  /** The process's serving metrics; none in tests that build a pool alone. */
  readonly metrics?: ServingMetrics;
  /** The machine, for picking a `tuned` block; detected when not given. */
  readonly hardware?: Hardware;
  /** Serve with these instead of the config's (the tuner's candidates). */
  readonly settings?: ServingSettings;
}

/**
 * One served model version: its warm instances, its batcher and its counters.
 * Requests reach it already validated.
 */
export class VersionPool {
  state = ModelState.UNAVAILABLE;
  reason = '';
  readonly stats = new StatisticsRecorder();
  readonly #options: VersionPoolOptions;
  readonly #instances: ModelInstance[] = [];
  /** Replacements for instances that died, awaited by the batches sent to their slot. */
  readonly #restarts = new Map<number, Promise<ModelInstance>>();
  readonly #batcher: DynamicBatcher<Waiting>;
  readonly #hasMediaInputs: boolean;
  /** Classes per row when the first output may hold probabilities (for the confidence metrics). */
  readonly #classes: number | undefined;
  #untrackPending: (() => void) | undefined;
  #untrackCap: (() => void) | undefined;
  /** Instances, threads and batching: the tuned block for this machine, or the hand-written ones. */
  readonly settings: ServingSettings;
  readonly #hardware: Hardware;
  /** The copy that serves a request finding the version idle, for models fast enough (inline-instance.ts). */
  #inline: InlineInstance | undefined;
  /** The inline run in progress: one at a time, and unload waits for it. */
  #inlineRun: Promise<void> | undefined;

  constructor(options: VersionPoolOptions) {
    this.#options = options;
    const { config } = options.definition;
    this.#hasMediaInputs = config.inputs.some((input) => input.image || input.audio);
    this.#classes = probabilityClasses(config);
    this.#hardware = options.hardware ?? detectHardware(options.cpuCount);
    this.settings = options.settings ?? servingSettings(config, options.version, this.#hardware, options.cpuCount);
    this.stats.serving(this.settings);
    this.#batcher = new DynamicBatcher<Waiting>(
      {
        maxBatchSize: this.settings.maxBatchSize,
        preferredBatchSizes: this.settings.preferredBatchSizes,
        maxQueueDelayMs: this.settings.maxQueueDelayMs,
        maxQueueSize: config.dynamic_batching.max_queue_size,
      },
      this.settings.instanceCount,
      {
        execute: (slot, items) => this.#execute(slot, items),
        onExpired: (item) =>
          this.#fail(
            item,
            new ServingError('request_timeout', `request ${item.request.requestId} waited past its timeout in the queue of ${this.#label}`),
          ),
      },
    );
  }

  get #label(): string {
    return `${this.#options.definition.name}:${this.#options.version}`;
  }

  /** Execution providers (or TF backends) the running instances got, without repeats. */
  get providers(): string[] {
    return [...new Set(this.#instances.map((instance) => instance.provider))];
  }

  get queued(): number {
    return this.#batcher.queued;
  }

  /** The inline copy, while lone requests run on it. */
  get inline(): InlineInstance | undefined {
    return this.#inline;
  }

  /** Most rows the batcher forms into one batch (set from the warm-up curve). */
  get batchCap(): number {
    return this.#batcher.batchCap;
  }

  /** Starts every instance, then warms each at every warm-up batch size; READY only after that. */
  async load(): Promise<void> {
    this.state = ModelState.LOADING;
    const started = performance.now();
    this.#logSettings();
    try {
      let curve: CurvePoint[] = [];
      for (let slot = 0; slot < this.settings.instanceCount; slot += 1) {
        // One instance's curve is enough: they are alike, and timing each would slow loading.
        const launched = await this.#startInstance(slot, slot === 0);
        this.#instances.push(launched.instance);
        if (slot === 0) curve = launched.curve;
      }
      if (curve.length > 0) this.#applyCurve(curve);
      await this.#startInline();
      this.state = ModelState.READY;
      const { metrics, version } = this.#options;
      metrics?.modelLoaded(this.#options.definition.name, version, (performance.now() - started) / 1000);
      this.#untrackPending = metrics?.trackPending(this.#options.definition.name, version, () => this.#batcher.queued);
      this.#untrackCap = metrics?.trackBatchCap(this.#options.definition.name, version, () => this.#batcher.batchCap);
      this.#options.logger.info({ model: this.#label, ms: Math.round(performance.now() - started) }, 'model version ready');
    } catch (error) {
      this.state = ModelState.FAILED;
      this.reason = (error as Error).message;
      await Promise.all(this.#instances.splice(0).map((instance) => instance.close()));
      await this.#inline?.close();
      this.#inline = undefined;
      throw error;
    }
  }

  /**
   * `signal` aborts when the caller left: a request still queued leaves the queue unrun; one
   * in a running batch is answered at once and its rows are dropped when the batch ends.
   */
  infer(request: ValidInferRequest, signal?: AbortSignal): Promise<InferResult> {
    if (this.state !== ModelState.READY)
      return Promise.reject(new ServingError('model_not_ready', `${this.#label} is ${this.state.toLowerCase()}`));
    if (signal?.aborted) return Promise.reject(this.#cancelled(request));
    if (this.#hasMediaInputs && request.inputs.some((tensor) => tensor.datatype === 'BYTES')) {
      return this.#decodeMedia(request).then((decoded) =>
        signal?.aborted ? Promise.reject(this.#cancelled(request)) : this.#enqueue(decoded, signal),
      );
    }
    return this.#enqueue(request, signal);
  }

  #cancelled(request: ValidInferRequest): ServingError {
    return new ServingError('client_cancelled', `request ${request.requestId} was cancelled by its caller before ${this.#label} answered`);
  }

  /** The caller left: out of the queue if it is still there, else (in a running batch) answered now. */
  #cancel(item: Waiting): void {
    if (item.settled()) return;
    const stage = this.#batcher.remove(item) ? 'queued' : 'running';
    this.#options.metrics?.cancelled(this.#options.definition.name, this.#options.version, stage);
    this.#fail(item, this.#cancelled(item.request));
  }

  #enqueue(request: ValidInferRequest, signal?: AbortSignal): Promise<InferResult> {
    return new Promise<InferResult>((resolve, reject) => {
      // Also bounds a batch that hangs on its instance: the caller is answered at the
      // deadline whatever happens; a late result is then dropped. Capped: Node fires a
      // timer at once beyond 2^31 - 1 ms.
      const guard = setTimeout(
        () => {
          this.#fail(
            item,
            new ServingError('request_timeout', `request ${request.requestId} was not served by ${this.#label} within its timeout`),
          );
        },
        Math.min(2 ** 31 - 1, Math.max(0, request.deadline - Date.now()) + 1),
      );
      let settled = false;
      const onAbort = (): void => this.#cancel(item);
      const item: Waiting = {
        request,
        rows: request.rows,
        signature: request.signature,
        priority: request.priority,
        ...(request.tenant !== undefined ? { tenant: request.tenant } : {}),
        ...(request.weight !== undefined ? { weight: request.weight } : {}),
        ...(request.group !== undefined ? { group: request.group } : {}),
        deadline: request.deadline,
        enqueuedAt: Date.now(),
        enqueuedAtPerf: performance.now(),
        resolve: (result) => {
          if (settled) return;
          settled = true;
          clearTimeout(guard);
          signal?.removeEventListener('abort', onAbort);
          resolve(result);
        },
        reject: (error) => {
          if (settled) return;
          settled = true;
          clearTimeout(guard);
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
        settled: () => settled,
      };
      if (this.#inlineTakes(request)) {
        signal?.addEventListener('abort', onAbort, { once: true });
        this.stats.recordInlineRun();
        // Its slot number for traces is one past the threads'.
        const run = this.#execute(this.settings.instanceCount, [item], this.#inline).finally(() => {
          if (this.#inlineRun === run) this.#inlineRun = undefined;
        });
        this.#inlineRun = run;
        return;
      }
      const outcome = this.#batcher.enqueue(item);
      if (outcome === 'queued') signal?.addEventListener('abort', onAbort, { once: true });
      if (outcome === 'queue-full') {
        this.#fail(
          item,
          new ServingError(
            'queue_full',
            `the queue of ${this.#label} is full (${this.#options.definition.config.dynamic_batching.max_queue_size} requests)`,
          ),
        );
      } else if (outcome === 'closed') {
        this.#fail(item, new ServingError('model_not_ready', `${this.#label} is unloading`));
      }
    });
  }

  /**
   * Encoded images and audio become the tensors the model takes (validation checked the
   * rest). Decoded lengths are only known now, so the batching signature is set here.
   */
  async #decodeMedia(request: ValidInferRequest): Promise<ValidInferRequest> {
    const specs = this.#options.definition.config.inputs;
    const inputs = await Promise.all(
      request.inputs.map((tensor) => {
        const spec = specs.find((candidate) => candidate.name === tensor.name);
        if (tensor.datatype !== 'BYTES' || !spec) return tensor;
        if (spec.image) return decodeImages(tensor, spec.image, this.#options.maxImagePixels);
        if (spec.audio) return decodeAudio(tensor, spec.audio, this.#options.maxAudioSeconds);
        return tensor;
      }),
    );
    const signature = inputs.map((tensor) => `${tensor.name}:${tensor.shape.slice(1).join('x')}`).join('|');
    return { ...request, inputs, signature };
  }

  /**
   * A lone request runs inline when the version is idle (nothing queued, no instance busy, no
   * inline run in progress): then there is no batch for it to join, and the thread hop and back
   * is most of its latency. One row only, so the run is the one measured; not past its deadline.
   */
  #inlineTakes(request: ValidInferRequest): boolean {
    const inline = this.#inline;
    if (inline === undefined || this.#inlineRun !== undefined || !this.#batcher.idle) return false;
    if (this.#options.definition.config.max_batch_size > 0 && request.rows !== 1) return false;
    if (!inline.fast) {
      if (inline.restUntil === 0) {
        this.#options.logger.warn(
          { model: this.#label, averageMs: inline.averageMs, limitMs: INLINE_MAX_MS, restMs: INLINE_REST_MS },
          `${this.#label} rests from inline runs for ${INLINE_REST_MS / 1000} s: its runs average ${inline.averageMs.toFixed(3)} ms`,
        );
        inline.rest();
        return false;
      }
      if (!inline.wake()) return false;
    }
    return request.deadline > Date.now();
  }

  /** The inline copy, for ONNX CPU models of fixed shape warmed up at batch 1 whose batch-1 run measures under INLINE_MAX_MS (not for the tuner's candidates). */
  async #startInline(): Promise<void> {
    const { definition, modelPath, logger, settings } = this.#options;
    const { config } = definition;
    // The copy is timed at batch 1 with warm-up inputs: only where the config warms up at batch 1. The
    // tuner's candidates (`settings`) compare thread layouts under load, where inline runs do not happen.
    const warmsAtOne = config.warmup.enabled && warmupBatchSizes(config, this.settings).includes(1);
    if (settings !== undefined || !warmsAtOne || !InlineInstance.eligible(config) || this.#instances[0]?.provider !== 'cpu') return;
    let started: Awaited<ReturnType<typeof InlineInstance.start>>;
    try {
      started = await InlineInstance.start(modelPath, config);
    } catch (error) {
      // The threads serve it whatever the copy did: an optimisation never fails a load.
      logger.warn(
        { model: this.#label, err: error },
        `${this.#label} runs every request on its threads (no inline copy: ${(error as Error).message})`,
      );
      return;
    }
    const { instance, medianMs, threads } = started;
    this.#inline = instance;
    if (instance) this.stats.inlineAllowed(medianMs);
    const fields = { model: this.#label, medianMs: Number(medianMs.toFixed(4)), limitMs: INLINE_MAX_MS, threads };
    if (instance)
      logger.info(
        { ...fields, inline: true },
        `${this.#label} runs lone requests inline (batch-1 run ${medianMs.toFixed(3)} ms on ${threads} thread${threads === 1 ? '' : 's'})`,
      );
    else
      logger.info({ ...fields, inline: false }, `${this.#label} runs every request on its threads (batch-1 run ${medianMs.toFixed(3)} ms)`);
  }

  /** Answers what is queued, then closes the instances. */
  async unload(): Promise<void> {
    if (this.state === ModelState.READY) this.state = ModelState.UNLOADING;
    await this.#batcher.drain();
    await this.#inlineRun;
    await this.#inline?.close();
    this.#inline = undefined;
    await Promise.all([...this.#instances.splice(0), ...(await Promise.all(this.#restarts.values()))].map((instance) => instance.close()));
    this.#restarts.clear();
    this.#untrackPending?.();
    this.#untrackCap?.();
    this.state = ModelState.UNAVAILABLE;
  }

  #logSettings(): void {
    const { logger, definition } = this.#options;
    const { tunedFor, instanceCount, intraOpThreads, maxBatchSize, preferredBatchSizes, maxQueueDelayMs } = this.settings;
    const fields = {
      model: this.#label,
      instances: instanceCount,
      threads: intraOpThreads,
      maxBatchSize,
      preferredBatchSizes,
      maxQueueDelayMs,
    };
    if (tunedFor)
      logger.info({ ...fields, settings: 'tuned', hardware: tunedFor }, `${this.#label} uses the tuned settings for ${tunedFor}`);
    else {
      const keys = hardwareKeys(definition.config, this.#hardware);
      logger.info(
        { ...fields, settings: 'config', hardware: keys },
        `${this.#label} uses its hand-written settings (no tuned block for ${keys.join(' or ')})`,
      );
    }
  }

  /** The batcher stops at the warm-up size with the best time per row. */
  #applyCurve(curve: CurvePoint[]): void {
    const cap = batchCap(curve, this.settings.maxBatchSize);
    this.#batcher.batchCap = cap;
    this.stats.warmup(curve, cap);
    const perRow = curve.map((point) => `${point.rows}: ${(point.ms / point.rows).toFixed(2)} ms/row`).join(', ');
    this.#options.logger.info(
      { model: this.#label, curve, batchCap: cap },
      `${this.#label} batches at most ${cap} rows (warm-up ${perRow})`,
    );
  }

  async #startInstance(slot: number, measure = false): Promise<{ instance: ModelInstance; curve: CurvePoint[] }> {
    const { config, name } = this.#options.definition;
    const spec: InstanceSpec = {
      modelPath: this.#options.modelPath,
      ...(config.format ? { format: config.format } : {}),
      executionProviders: config.instance_group.kind === 'cpu' ? ['cpu'] : config.execution_providers,
      intraOpThreads: this.settings.intraOpThreads,
      deviceId: config.instance_group.gpus[slot % config.instance_group.gpus.length] ?? 0,
      label: `${this.#label}#${slot}`,
    };
    const instance = await this.#options.createInstance(spec);
    this.#options.logger.info(
      { model: name, version: this.#options.version, instance: slot, provider: instance.provider, threads: spec.intraOpThreads },
      `instance ${spec.label} runs on ${instance.provider}`,
    );
    const { tunedFor, tunedProvider } = this.settings;
    if (tunedProvider !== undefined && instance.provider !== tunedProvider) {
      this.#options.logger.warn(
        { model: this.#label, provider: instance.provider, tunedProvider },
        `the tuned settings for ${tunedFor} were measured on ${tunedProvider}, not ${instance.provider}`,
      );
    }
    let curve: CurvePoint[] = [];
    try {
      if (config.warmup.enabled) curve = await warmUp(instance, config, warmupBatchSizes(config, this.settings), measure);
    } catch (error) {
      await instance.close();
      throw error;
    }
    instance.onExit((reason) => this.#replace(slot, reason));
    return { instance, curve };
  }

  #replace(slot: number, reason: string): void {
    if (this.state !== ModelState.READY) return;
    this.#options.logger.error({ model: this.#label, instance: slot, reason }, 'instance died; starting a replacement');
    const replacement = this.#startInstance(slot).then((started) => started.instance);
    this.#restarts.set(slot, replacement);
    replacement.then(
      (instance) => {
        this.#instances[slot] = instance;
        this.#restarts.delete(slot);
      },
      (error: unknown) => {
        this.state = ModelState.FAILED;
        this.reason = `instance ${slot} died (${reason}) and could not be restarted: ${(error as Error).message}`;
        this.#options.logger.error({ model: this.#label, reason: this.reason }, 'model version failed');
      },
    );
  }

  async #execute(slot: number, items: Waiting[], inline?: InlineInstance): Promise<void> {
    const startedPerf = performance.now();
    const wanted = new Set<string>();
    const all = this.#options.definition.config.outputs.map((output) => output.name);
    for (const item of items) for (const name of item.request.outputs.length > 0 ? item.request.outputs : all) wanted.add(name);
    const batchRows = items.reduce((sum, item) => sum + item.rows, 0);
    const traced = traceBatch(this.#options.definition.name, this.#options.version, slot, items, startedPerf, batchRows);
    try {
      const instance = inline ?? (await (this.#restarts.get(slot) ?? this.#instances[slot]!));
      traced?.runtimeStarted(instance.provider);
      const result = await instance.run({ requests: items.map((item) => ({ inputs: item.request.inputs })), outputs: [...wanted] });
      traced?.runtimeDone(result.computeMs, result.inputMs, result.outputMs);
      this.stats.recordExecution(batchRows, result);
      const { metrics, version, definition } = this.#options;
      metrics?.execution(definition.name, version, batchRows, result.computeMs);
      const finishedPerf = performance.now();
      items.forEach((item, index) => {
        const asked = item.request.outputs.length > 0 ? item.request.outputs : all;
        const outputs = (result.outputs[index] ?? []).filter((tensor) => asked.includes(tensor.name));
        const queueMs = startedPerf - item.enqueuedAtPerf;
        if (item.settled()) return;
        this.stats.recordRequest(true, finishedPerf - item.enqueuedAtPerf, queueMs, result);
        if (metrics) {
          metrics.request(definition.name, version, 'success', finishedPerf - item.enqueuedAtPerf, queueMs);
          const first = this.#classes !== undefined ? result.outputs[index]?.find((tensor) => tensor.name === all[0]) : undefined;
          if (first) metrics.outputs(definition.name, version, first, this.#classes!);
        }
        item.resolve({
          model: item.request.model,
          version: item.request.version,
          outputs,
          timings: { queueMs, computeMs: result.computeMs, batchSize: items.length, batchRows },
        });
      });
      traced?.end();
    } catch (error) {
      const refused = error instanceof RunFailedError && !error.resourceFault;
      // One request's input must not fail its batchmates: each runs again alone, so only its own fails.
      if (refused && items.length > 1) {
        traced?.end(new ServingError('inference_failed', `${this.#label} refused a batch of ${items.length}; its requests run alone`));
        for (const item of items) if (!item.settled()) await this.#execute(slot, [item], inline);
        return;
      }
      const failure = new ServingError(
        'inference_failed',
        `${this.#label} failed on a batch of ${items.length}: ${(error as Error).message}`,
      );
      traced?.end(failure);
      for (const item of items) this.#fail(item, failure);
    }
  }

  #fail(item: Waiting, error: Error): void {
    if (item.settled()) return;
    const totalMs = performance.now() - item.enqueuedAtPerf;
    this.stats.recordRequest(false, totalMs, undefined);
    this.#options.metrics?.request(
      this.#options.definition.name,
      this.#options.version,
      isServingError(error) ? error.code : 'internal_error',
      totalMs,
      undefined,
    );
    item.reject(error);
  }
}
