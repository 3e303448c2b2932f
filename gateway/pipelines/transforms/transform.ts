import type { Tensor } from '../../../workers/protocol/tensor.js';

/**
 * A built-in pipeline step that is not a model: decoding, cropping, post-processing.
 * Transforms run in the gateway (sharp works on libuv's pool, off the event loop) and
 * see only named values, so a pipeline file can wire them to any model.
 */
export interface Transform {
  readonly name: string;
  /** Port names the step must wire. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Throws on options that make no sense, when the pipeline is loaded. */
  checkOptions(options: Readonly<Record<string, unknown>>): void;
  /**
   * Models the step calls through its context (named in its options), so the loader can
   * check they exist; only transforms that loop over a model have any.
   */
  modelsCalled?(options: Readonly<Record<string, unknown>>): readonly string[];
  /**
   * The model requests the step will send, from the inputs known when the task is
   * submitted (absent ports are made by earlier steps): what the task's budget reserves
   * up front. Calls beyond it are held from the budget one at a time as they run.
   */
  estimateModelCalls?(
    inputs: Readonly<Record<string, unknown>>,
    options: Readonly<Record<string, unknown>>,
  ): readonly EstimatedModelCalls[];
  run(
    inputs: Readonly<Record<string, unknown>>,
    options: Readonly<Record<string, unknown>>,
    context: TransformContext,
  ): Promise<Record<string, unknown>>;
}

export interface EstimatedModelCalls {
  readonly model: string;
  readonly version?: string;
  readonly calls: number;
}

/**
 * What a running transform may do beyond computing: call a model. A step graph cannot
 * express a loop over one model (a recurrent model fed its own state window after
 * window), so such a transform sends the requests itself, through the same validation
 * and backend as a model step.
 */
export interface TransformContext {
  /** One request to the model's served (or the given) version; resolves to its outputs by name. */
  callModel(model: string, inputs: readonly Tensor[], version?: string): Promise<ReadonlyMap<string, Tensor>>;
  /** When the task must have finished (ms since the epoch). */
  readonly deadline: number;
  /** Aborted once the run has failed or its task was stopped. */
  readonly signal?: AbortSignal;
  /** Calls `release` when the run ends, however it ends: for what a step's output holds (decoding memory). */
  untilRunEnds(release: () => void): void;
}

/** A value of the wrong kind reached a transform: a pipeline wiring fault or bad caller data. */
export class TransformInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransformInputError';
  }
}
