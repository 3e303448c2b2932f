import type { Logger } from 'pino';
import type { TaskDispatcher } from './task-dispatcher.js';
import type { TaskExecutor } from './task-executor.js';

/** Embedded mode: tasks run in this process, at most `concurrency` at once, first come first served. */
export class LocalTaskDispatcher implements TaskDispatcher {
  readonly #executor: TaskExecutor;
  readonly #concurrency: number;
  readonly #logger: Logger;
  readonly #waiting: { id: string; inputs: Record<string, unknown> }[] = [];
  readonly #running = new Set<Promise<void>>();

  constructor(executor: TaskExecutor, concurrency: number, logger: Logger) {
    this.#executor = executor;
    this.#concurrency = concurrency;
    this.#logger = logger;
  }

  async submit(taskId: string, inputs: Record<string, unknown>): Promise<void> {
    this.#waiting.push({ id: taskId, inputs });
    this.#next();
  }

  async withdraw(taskId: string): Promise<boolean> {
    const at = this.#waiting.findIndex((entry) => entry.id === taskId);
    if (at === -1) return false;
    this.#waiting.splice(at, 1);
    return true;
  }

  async close(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
  }

  #next(): void {
    while (this.#running.size < this.#concurrency && this.#waiting.length > 0) {
      const { id, inputs } = this.#waiting.shift()!;
      // The slot is the pipeline run's: the callback is handed to the sender, which delivers it outside the slot.
      const run = this.#executor
        .run(id, inputs)
        .then(({ callback }) => callback)
        .catch((error: unknown) => this.#logger.error({ err: error, task: id }, 'task could not run'))
        .finally(() => {
          this.#running.delete(run);
          this.#next();
        });
      this.#running.add(run);
    }
  }
}
