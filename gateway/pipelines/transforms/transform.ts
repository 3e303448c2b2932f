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
  run(inputs: Readonly<Record<string, unknown>>, options: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>>;
}

/** A value of the wrong kind reached a transform: a pipeline wiring fault or bad caller data. */
export class TransformInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransformInputError';
  }
}
