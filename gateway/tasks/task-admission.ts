import { ServingError } from '../../workers/protocol/errors.js';

/**
 * Counts the batch items this gateway holds, so a batch is taken whole or refused whole:
 * the check and the count happen in one synchronous step, so concurrent batches cannot
 * both squeeze past the limit.
 */
export class TaskAdmission {
  readonly #limit: number;
  #held = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Reserves `count` places, or throws tasks_busy having reserved none; `release` gives one back. */
  admit(count: number): { release(): void } {
    if (this.#held + count > this.#limit) {
      throw new ServingError(
        'tasks_busy',
        `this gateway holds ${this.#held} batch items of ${this.#limit} (TASK_BATCH_MAX_PENDING); ${count} more do not fit`,
      );
    }
    this.#held += count;
    let left = count;
    return {
      release: () => {
        if (left === 0) return;
        left -= 1;
        this.#held -= 1;
      },
    };
  }

  get held(): number {
    return this.#held;
  }
}
