import { randomUUID } from 'node:crypto';
import type { ValidInferRequest } from '../../workers/protocol/inference.js';

export interface JobGroup {
  readonly jobId: string;
  readonly queue: string;
  readonly priority: number;
  readonly requests: ValidInferRequest[];
}

/**
 * Gathers the requests for one queue and priority that arrive in the same event-loop
 * turn into one job, up to `maxItems`: one BullMQ add, one completion and one reply per
 * group instead of per request. Adds no waiting: a group is sent at the end of the turn
 * (setImmediate), or at once when full.
 */
export class JobCoalescer {
  readonly #open = new Map<string, JobGroup>();
  readonly #send: (group: JobGroup) => void;

  constructor(send: (group: JobGroup) => void) {
    this.#send = send;
  }

  /** The group the request joined and its item number in it. */
  add(queue: string, request: ValidInferRequest, maxItems: number): { group: JobGroup; item: number } {
    const key = `${queue}\u0000${request.priority}`;
    let group = this.#open.get(key);
    if (!group) {
      const created: JobGroup = { jobId: randomUUID(), queue, priority: request.priority, requests: [] };
      this.#open.set(key, created);
      setImmediate(() => this.#flush(key, created));
      group = created;
    }
    const item = group.requests.push(request) - 1;
    if (group.requests.length >= maxItems) this.#flush(key, group);
    return { group, item };
  }

  #flush(key: string, group: JobGroup): void {
    if (this.#open.get(key) !== group) return; // sent already
    this.#open.delete(key);
    this.#send(group);
  }
}
