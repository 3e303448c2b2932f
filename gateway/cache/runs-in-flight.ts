/**
 * Calls for one entry that arrive while a call for it is running: they wait for its answer
 * instead of running the model again, so a burst of one routine input runs it once per
 * gateway. Per process: gateways do not wait for each other (each runs it at most once).
 */
export class RunsInFlight {
  readonly #runs = new Map<string, Promise<void>>();

  /** The run a call for this key can wait on, if one is in flight. */
  running(key: string): Promise<void> | undefined {
    return this.#runs.get(key);
  }

  /** Marks a run as started; the function returned ends it once `kept` (the write of its answer, if any) settles. */
  start(key: string): (kept?: Promise<unknown>) => void {
    let end!: () => void;
    const run = new Promise<void>((resolve) => {
      end = resolve;
    });
    this.#runs.set(key, run);
    return (kept) => {
      void Promise.resolve(kept)
        .catch(() => undefined)
        .then(() => {
          if (this.#runs.get(key) === run) this.#runs.delete(key);
          end();
        });
    };
  }
}
