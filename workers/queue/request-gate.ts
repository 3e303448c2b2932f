import type { ModelConfig } from '../repository/model-config.js';

/**
 * The requests a worker hands one version's batcher at once: never more than its queue holds.
 * The consumer takes jobs by count and a job may carry dozens of coalesced requests, so a
 * backlog taken at once overflowed the batcher's max_queue_size: the overflow was
 * refused queue_full here (counted as failed requests, spending job attempts) and queued again.
 * Now a job's requests wait their turn in hand, and the batcher never refuses what it was given.
 */
export class RequestGate {
  #inUse = 0;
  readonly #waiting: { count: number; admit: () => void }[] = [];

  constructor(readonly capacity: number) {}

  /** Waits until `count` requests fit (all of the capacity, for a job larger than it); returns what was taken. */
  async take(count: number): Promise<number> {
    const taken = Math.min(count, this.capacity);
    if (this.#waiting.length === 0 && this.#inUse + taken <= this.capacity) {
      this.#inUse += taken;
      return taken;
    }
    await new Promise<void>((admit) => this.#waiting.push({ count: taken, admit }));
    return taken;
  }

  give(count: number): void {
    this.#inUse -= count;
    // In arrival order: a large job is not passed over for ever by small ones.
    while (this.#waiting.length > 0 && this.#inUse + this.#waiting[0]!.count <= this.capacity) {
      const next = this.#waiting.shift()!;
      this.#inUse += next.count;
      next.admit();
    }
  }
}

/**
 * What one version may be handed at once: its queue's size. Not more for the requests running,
 * since a batch may be smaller than max_batch_size (a lone request on an idle instance), and then
 * what it left in the queue would overflow it.
 */
export function versionCapacity(config: Pick<ModelConfig, 'dynamic_batching'>): number {
  return config.dynamic_batching.max_queue_size;
}
