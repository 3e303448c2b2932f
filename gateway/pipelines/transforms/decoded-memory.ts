import { ServingError } from '../../../workers/protocol/errors.js';

interface Waiter {
  readonly bytes: number;
  readonly grant: () => void;
}

/**
 * The bytes of decoded images the gateway's tasks may hold at once. A small PNG can
 * declare 40 million pixels (120 MB decoded), and a task holds its decoded page until the
 * run ends (OCR crops lines from it late), so without a bound a few megabytes of uploads
 * claim gigabytes. Decodes wait their turn, first come first served, until their task's
 * deadline or cancellation; one image larger than the whole budget runs alone.
 */
export class DecodedMemory {
  readonly #limit: number;
  #held = 0;
  readonly #waiting: Waiter[] = [];

  constructor(limitBytes: number) {
    this.#limit = limitBytes;
  }

  /** Resolves once `bytes` are reserved, with the function that gives them back (once). */
  async reserve(bytes: number, deadline: number, signal?: AbortSignal): Promise<() => void> {
    if (this.#waiting.length === 0 && this.#fits(bytes)) return this.#take(bytes);
    return new Promise<() => void>((resolve, reject) => {
      const leave = (error: ServingError): void => {
        const index = this.#waiting.indexOf(waiter);
        if (index < 0) return;
        this.#waiting.splice(index, 1);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
        // The one that left may have been the head others queued behind.
        this.#grantWaiting();
      };
      const onAbort = (): void =>
        leave(signal?.reason instanceof ServingError ? signal.reason : new ServingError('task_cancelled', 'the run was stopped'));
      const timer = setTimeout(
        () => leave(new ServingError('request_timeout', 'the deadline passed while the image waited for decoding memory')),
        Math.max(0, deadline - Date.now()),
      );
      const waiter: Waiter = {
        bytes,
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(this.#take(bytes));
        },
      };
      this.#waiting.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort();
    });
  }

  get heldBytes(): number {
    return this.#held;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  #fits(bytes: number): boolean {
    return this.#held + bytes <= this.#limit || this.#held === 0;
  }

  #take(bytes: number): () => void {
    this.#held += bytes;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.#held -= bytes;
      this.#grantWaiting();
    };
  }

  #grantWaiting(): void {
    while (this.#waiting.length > 0 && this.#fits(this.#waiting[0]!.bytes)) this.#waiting.shift()!.grant();
  }
}
