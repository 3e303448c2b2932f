import type { Tensor } from '../protocol/tensor.js';

/** What one instance needs to load: everything is plain data so it can cross to a thread. */
export interface InstanceSpec {
  readonly modelPath: string;
  /** How the model is stored, for runtimes that read several formats (TF). */
  readonly format?: 'graph' | 'layers' | 'saved_model';
  /** Tried in order; the first that loads is used. */
  readonly executionProviders: readonly string[];
  readonly intraOpThreads: number;
  readonly deviceId: number;
  /** For log lines: model:version#instance. */
  readonly label: string;
}

export interface BatchRequest {
  readonly inputs: readonly Tensor[];
}

export interface BatchRun {
  readonly requests: readonly BatchRequest[];
  /** Outputs to compute (the union of what the requests asked for). */
  readonly outputs: readonly string[];
}

export interface BatchRunResult {
  /** Per request, in request order: its own rows of each output. */
  readonly outputs: readonly (readonly Tensor[])[];
  /** Wall time of the model run alone. */
  readonly computeMs: number;
  /** Making the model's inputs of the requests' (joining rows, conversion): Triton's compute_input. */
  readonly inputMs: number;
  /** Taking the outputs back and cutting them per request: Triton's compute_output. */
  readonly outputMs: number;
}

/**
 * One loaded copy of a model, able to run one batch at a time. Implementations keep the
 * model off the calling thread so the event loop stays free.
 */
export interface ModelInstance {
  /** The execution provider or backend the instance got (cpu, cuda, tfjs-node-gpu, wasm, ...). */
  readonly provider: string;
  run(batch: BatchRun): Promise<BatchRunResult>;
  close(): Promise<void>;
  /** Called once if the instance dies on its own (a crashed thread). */
  onExit(listener: (reason: string) => void): void;
}

export type InstanceFactory = (spec: InstanceSpec) => Promise<ModelInstance>;
