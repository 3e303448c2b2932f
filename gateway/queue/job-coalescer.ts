import { randomUUID } from 'node:crypto';
import type { ValidInferRequest } from '../../workers/protocol/inference.js';

export interface JobGroup {
  readonly jobId: string;
  readonly queue: string;
  readonly priority: number;
  /** A group holds one tenant's requests, so jobs can be released to the workers tenant by tenant (fair-release.ts). */
  readonly tenant?: string;
  readonly weight?: number;
  readonly requests: ValidInferRequest[];
  /** Items whose caller left while the group gathered: not sent. */
  readonly withdrawn: Set<number>;
}

/** One open group per queue, priority and tenant: add() and withdraw() must name it alike. */
const groupKey = (queue: string, priority: number, tenant: string | undefined): string => `${queue}\u0000${priority}\u0000${tenant ?? ''}`;

/** How many requests a group may hold, and how long it may gather while the queue is busy. */
export interface GroupLimits {
  readonly maxItems: number;
  readonly windowMs: number;
}

/**
 * Gathers requests for one queue, priority and tenant into one job, up to `maxItems`: one
 * BullMQ add, one completion and one reply per group instead of per request. The batcher's
 * rule applies: with nothing of this queue in flight, a group goes at the end of the
 * event-loop turn (no waiting); while earlier jobs are still out, it gathers for up to
 * `windowMs` (the model's max_queue_delay_ms, capped) or until full, since the workers are busy
 * anyway, and goes at once when the last of them is answered (`queueIdle`): the workers are
 * then idle, and waiting out the window would only leave them so. Fewer, fuller jobs are
 * what distributed throughput depends on: every job costs the same Redis scripts, worker
 * hand-offs and reply, whatever it carries.
 */
export class JobCoalescer {
  readonly #open = new Map<string, JobGroup>();
  readonly #send: (group: JobGroup) => void;
  readonly #busy: (queue: string) => boolean;

  constructor(send: (group: JobGroup) => void, busy: (queue: string) => boolean) {
    this.#send = send;
    this.#busy = busy;
  }

  /** The group the request joined and its item number in it. */
  add(queue: string, request: ValidInferRequest, limits: GroupLimits): { group: JobGroup; item: number } {
    const key = groupKey(queue, request.priority, request.tenant);
    let group = this.#open.get(key);
    if (!group) {
      const share = {
        ...(request.tenant !== undefined ? { tenant: request.tenant } : {}),
        ...(request.weight !== undefined ? { weight: request.weight } : {}),
      };
      const created: JobGroup = { jobId: randomUUID(), queue, priority: request.priority, ...share, requests: [], withdrawn: new Set() };
      this.#open.set(key, created);
      if (limits.windowMs > 0 && this.#busy(queue)) setTimeout(() => this.#flush(key, created), limits.windowMs);
      else setImmediate(() => this.#flush(key, created));
      group = created;
    }
    const item = group.requests.push(request) - 1;
    if (group.requests.length >= limits.maxItems) this.#flush(key, group);
    return { group, item };
  }

  /**
   * The caller of `item` left: true while the group still gathers (the item is then never
   * sent, and a group left empty is dropped); false once it went out as a job.
   */
  withdraw(group: JobGroup, item: number): boolean {
    const key = groupKey(group.queue, group.priority, group.tenant);
    if (this.#open.get(key) !== group) return false;
    group.withdrawn.add(item);
    if (group.withdrawn.size === group.requests.length) this.#open.delete(key);
    return true;
  }

  /** Nothing of this queue is in flight any more: its open groups go now. */
  queueIdle(queue: string): void {
    const idle = [...this.#open].filter(([, group]) => group.queue === queue);
    for (const [key, group] of idle) this.#flush(key, group);
  }

  #flush(key: string, group: JobGroup): void {
    if (this.#open.get(key) !== group) return; // sent already
    this.#open.delete(key);
    this.#send(group);
  }
}
