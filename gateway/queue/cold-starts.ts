/** Told when a version's cold start begins (its first request queued with no live worker) and when it ends. */
export interface ColdStartListener {
  started(model: string, version: string): void;
  /** The first request queued while cold is answered, `seconds` after it was queued. */
  served(model: string, version: string, seconds: number): void;
}

interface Period {
  readonly model: string;
  readonly version: string;
  readonly since: number;
  /** Requests queued while cold and not yet settled. */
  waiting: number;
}

/**
 * Cold periods per version queue: from the first request queued with no live worker to the first
 * answer one of them gets. A period whose requests all give up (max_wait_ms, their timeout) ends
 * unserved; the next cold request starts another.
 */
export class ColdStarts {
  readonly #open = new Map<string, Period>();
  readonly #listeners: ColdStartListener[] = [];

  listen(listener: ColdStartListener): void {
    this.#listeners.push(listener);
  }

  /** A request was queued to a cold version: the token to settle it with. */
  queued(queue: string, model: string, version: string): Period {
    let period = this.#open.get(queue);
    if (!period) {
      period = { model, version, since: Date.now(), waiting: 0 };
      this.#open.set(queue, period);
      for (const listener of this.#listeners) listener.started(model, version);
    }
    period.waiting += 1;
    return period;
  }

  /** A request queued while cold is settled, answered or not. */
  settled(queue: string, period: Period, answered: boolean): void {
    period.waiting -= 1;
    if (this.#open.get(queue) !== period) return; // served already
    if (answered) {
      this.#open.delete(queue);
      const seconds = (Date.now() - period.since) / 1000;
      for (const listener of this.#listeners) listener.served(period.model, period.version, seconds);
    } else if (period.waiting === 0) {
      this.#open.delete(queue);
    }
  }

  /** Queues with a cold period open. */
  openQueues(): ReadonlySet<string> {
    return new Set(this.#open.keys());
  }
}
