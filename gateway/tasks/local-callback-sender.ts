import type { Logger } from 'pino';
import { deliverCallback, type CallbackPolicy } from './callback-delivery.js';
import { CallbackConnections } from './callback-connections.js';
import { callbackBody, callbackDue, recordAttempt, settleCallback, type CallbackSender } from './callback-sender.js';
import type { TaskRecord } from './task-record.js';
import type { TaskStore } from './task-store.js';

/** Deliveries one gateway holds (waiting for a connection or for their next attempt) per connection it may open. */
export const PENDING_PER_CONNECTION = 16;

export interface LocalCallbackSenderOptions {
  readonly store: TaskStore;
  readonly secret: (tenant: string) => string | undefined;
  readonly policy: CallbackPolicy;
  /** CALLBACK_CONCURRENCY: connections open at once. */
  readonly concurrency: number;
  readonly logger: Logger;
}

/**
 * Embedded mode: callbacks are delivered from this process, at most `concurrency` connections
 * at once, and at most PENDING_PER_CONNECTION times that many deliveries held; past that a
 * callback is refused at once (failed, with its reason on the record) instead of holding more
 * memory and sockets. On close, attempts in flight finish and no other starts: the records
 * live in this process's memory and go with it.
 */
export class LocalCallbackSender implements CallbackSender {
  readonly #options: LocalCallbackSenderOptions;
  readonly #connections: CallbackConnections;
  readonly #maxPending: number;
  readonly #inHand = new Set<Promise<void>>();
  readonly #closing = new AbortController();

  constructor(options: LocalCallbackSenderOptions) {
    this.#options = options;
    this.#connections = new CallbackConnections(options.concurrency);
    this.#maxPending = options.concurrency * PENDING_PER_CONNECTION;
  }

  /** Deliveries held now (for tests and metrics). */
  get pending(): number {
    return this.#inHand.size;
  }

  async send(record: TaskRecord): Promise<void> {
    if (!callbackDue(record) || this.#closing.signal.aborted) return;
    if (this.#inHand.size >= this.#maxPending) {
      const stored = await this.#options.store.get(record.id);
      if (stored && callbackDue(stored))
        await settleCallback(
          this.#options.store,
          stored,
          'failed',
          `not sent: this gateway already held ${this.#maxPending} callbacks waiting to be delivered (CALLBACK_CONCURRENCY × ${PENDING_PER_CONNECTION})`,
        );
      return;
    }
    const delivery = this.#deliver(record.id)
      .catch((error: unknown) => this.#options.logger.error({ err: error, task: record.id }, 'callback delivery broke off'))
      .finally(() => this.#inHand.delete(delivery));
    this.#inHand.add(delivery);
  }

  async close(): Promise<void> {
    this.#closing.abort();
    while (this.#inHand.size > 0) await Promise.allSettled([...this.#inHand]);
  }

  async #deliver(id: string): Promise<void> {
    const { store, policy, secret } = this.#options;
    const record = await store.get(id);
    if (!record || !callbackDue(record)) return;
    const { url, attempts } = record.callback;
    const outcome = await deliverCallback(
      { url, tenant: record.tenant },
      callbackBody(record),
      secret(record.tenant) ?? '',
      policy,
      (attempt) => recordAttempt(store, record, attempt),
      {
        from: attempts.length + 1,
        connection: (open) => this.#connections.run(record.tenant, open),
        stop: this.#closing.signal,
      },
    );
    if (outcome !== 'stopped') await settleCallback(store, record, outcome);
  }
}
