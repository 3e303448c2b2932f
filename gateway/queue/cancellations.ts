import type { CancelStage } from '../../workers/metrics/serving-metrics.js';

type Listener = (model: string, version: string, stage: CancelStage) => void;

/** Requests this gateway cancelled, told to whoever counts them (the gateway's metrics). */
export class Cancellations {
  readonly #listeners: Listener[] = [];

  listen(listener: Listener): void {
    this.#listeners.push(listener);
  }

  count(model: string, version: string, stage: CancelStage): void {
    for (const listener of this.#listeners) listener(model, version, stage);
  }
}
