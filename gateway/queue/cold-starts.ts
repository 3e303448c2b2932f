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
  /** Per queue, until when an answer just served counts as a live worker the registry has not yet seen beat. */
  readonly #warmUntil = new Map<string, number>();
  readonly #graceMs: number;

  /** `graceMs`: how long after a cold period's first answer the registry may still report no warm worker. */
  constructor(graceMs: number) {
    this.#graceMs = graceMs;
  }

  listen(listener: ColdStartListener): void {
    this.#listeners.push(listener);
  }

  /** A request was queued to a cold version: the token to settle it with (none while just served). */
  queued(queue: string, model: string, version: string): Period | undefined {
    let period = this.#open.get(queue);
    if (!period && Date.now() < (this.#warmUntil.get(queue) ?? 0)) return undefined;
    if (!period) {
      period = { model, version, since: Date.now(), waiting: 0 };
      this.#open.set(queue, period);
      for (const listener of this.#listeners) listener.started(model, version);
    }
    period.waiting += 1;
    return period;
  }

  /** A request queued while cold is settled, answered or not. */
  settled(queue: string, period: Period | undefined, answered: boolean): void {
    if (!period) return;
    period.waiting -= 1;
    if (this.#open.get(queue) !== period) return; // served already
    if (answered) {
      this.#open.delete(queue);
      this.#warmUntil.set(queue, Date.now() + this.#graceMs);
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
