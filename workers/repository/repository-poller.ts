import type { Logger } from 'pino';
import { repositoryFingerprints } from './model-fingerprint.js';

/** What the poller drives: a ModelManager in a worker or embedded gateway, the routing table of a distributed gateway. */
export interface PolledModels {
  /** Loads or reloads the model; rejects (and keeps what was serving) when it cannot. */
  load(name: string): Promise<void>;
  /** The model's folder (or its config.json) is gone; resolves true when something was unloaded. */
  removed(name: string): Promise<boolean>;
}

export interface RepositoryPollerOptions {
  readonly repository: string;
  readonly intervalMs: number;
  readonly models: PolledModels;
  readonly logger: Logger;
  /** Only these models (LOAD_MODELS); all when unset. */
  readonly only?: readonly string[];
  /** Skips models this process does not serve (a worker's pools). */
  readonly wanted?: (name: string) => Promise<boolean>;
}

/**
 * MODEL_CONTROL=poll: rescans the repository every interval and loads the models whose
 * config.json or weights changed, unloads the ones removed. A change is acted on once it has
 * held still for one interval, so a weights file still being written is not loaded half-done.
 */
export class RepositoryPoller {
  readonly #options: RepositoryPollerOptions;
  /** The fingerprint each model was last loaded (or tried) at. */
  #applied = new Map<string, string>();
  /** What the previous scan saw. */
  #seen = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #stopped = false;

  constructor(options: RepositoryPollerOptions) {
    this.#options = options;
  }

  /** Takes the repository as it is (before the start-up load) as already applied. */
  async prime(): Promise<void> {
    const current = await this.#snapshot();
    if (!current) return;
    this.#applied = new Map(current);
    this.#seen = new Map(current);
  }

  start(): void {
    this.#stopped = false;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#scanning;
  }

  /** One pass; exposed for tests that step the poller by hand. */
  async scan(): Promise<void> {
    const current = await this.#snapshot();
    if (!current) return;
    const names = new Set([...current.keys(), ...this.#applied.keys()]);
    for (const name of [...names].sort()) {
      if (this.#stopped) return;
      if (this.#options.only && !this.#options.only.includes(name)) continue;
      const fingerprint = current.get(name);
      if (fingerprint === this.#applied.get(name) || fingerprint !== this.#seen.get(name)) continue;
      await this.#apply(name, fingerprint);
    }
    this.#seen = current;
  }

  async #apply(name: string, fingerprint: string | undefined): Promise<void> {
    const { logger, models, wanted } = this.#options;
    if (fingerprint === undefined) {
      this.#applied.delete(name);
      await models.removed(name).then(
        (unloaded) => unloaded && logger.info({ model: name }, 'model removed from the repository: unloaded'),
        (error: unknown) => logger.error({ err: error, model: name }, 'model removed from the repository but could not be unloaded'),
      );
      return;
    }
    const known = this.#applied.has(name);
    this.#applied.set(name, fingerprint);
    if (wanted && !(await wanted(name).catch(() => false))) return;
    try {
      await models.load(name);
      logger.info({ model: name }, known ? 'repository change loaded' : 'new model in the repository loaded');
    } catch (error) {
      logger.error({ err: error, model: name }, 'repository change not loaded; what was serving keeps serving');
    }
  }

  async #snapshot(): Promise<Map<string, string> | undefined> {
    try {
      return await repositoryFingerprints(this.#options.repository);
    } catch (error) {
      this.#options.logger.error({ err: error, repository: this.#options.repository }, 'model repository cannot be scanned');
      return undefined;
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#scanning = this.scan().finally(() => {
        this.#scanning = undefined;
        this.#schedule();
      });
    }, this.#options.intervalMs);
    this.#timer.unref();
  }
}
