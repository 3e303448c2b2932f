import { ServingError } from '../../workers/protocol/errors.js';

/**
 * Bodies this small are never counted: their memory is bounded by the connections that
 * carry them, and counting them would put a cost on every small request.
 */
export const UNCOUNTED_BODY_BYTES = 64 * 1024;

/**
 * The request bytes one gateway holds at once, over every request and both front ends:
 * MAX_BODY_BYTES bounds one body, this bounds them together. Without it, forty 60 MB bodies
 * sent at once took the gateway to 9 GB (each body, its copy to the JSON thread and its
 * tensors), and a few more to the kernel's OOM killer. A request takes bytes as they arrive
 * (a slow sender holds only what it sent) and gives them back when it is answered.
 */
export class BodyMemory {
  #held = 0;

  constructor(readonly limit: number) {}

  get held(): number {
    return this.#held;
  }

  /** A hold for one request's bytes; nothing is taken until `take`. */
  hold(): BodyHold {
    return new BodyHold(this);
  }

  /** Takes `bytes`, or throws server_busy having taken nothing. */
  take(bytes: number): void {
    if (this.#held + bytes > this.limit) {
      throw new ServingError(
        'server_busy',
        `the gateway holds ${this.limit} bytes of request bodies already (BODY_MEMORY_BYTES); retry after Retry-After`,
      );
    }
    this.#held += bytes;
  }

  give(bytes: number): void {
    this.#held -= bytes;
  }
}

/** One request's bytes: taken chunk by chunk, given back at once (and only once) when it ends. */
export class BodyHold {
  #bytes = 0;
  #released = false;

  constructor(readonly memory: BodyMemory) {}

  take(bytes: number): void {
    if (this.#released) return;
    this.memory.take(bytes);
    this.#bytes += bytes;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.memory.give(this.#bytes);
    this.#bytes = 0;
  }
}
