/**
 * The runtime ran the batch and refused it (onnxruntime's or TF's error from the run itself),
 * as distinct from an instance that died or could not be reached: the model is there and
 * working, and what it was given is the likely cause.
 */
export class RunFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunFailedError';
  }

  /** Out of memory or a device fault: the runtime's trouble, whatever the input. */
  get resourceFault(): boolean {
    return /out of memory|failed to allocate|bad_alloc|cuda|cudnn|cublas|device/i.test(this.message);
  }
}
