import { FairQueue } from '../../workers/batching/fair-queue.js';
import type { JobGroup } from './job-coalescer.js';

interface Held {
  readonly group: JobGroup;
  readonly rows: number;
  readonly priority: number;
  readonly tenant?: string;
  readonly weight?: number;
}

/**
 * Distributed mode's fair share before Redis. Redis serves a queue's jobs in order (by
 * priority, then first in first out), and a worker takes many jobs at once: a tenant flooding
 * a model would fill the queue and the workers' batchers, and another tenant's job would wait
 * behind the whole flood before a worker's batcher could serve tenants in turn. So a gateway
 * keeps no more of one tenant's requests out on a queue than the workers need to stay busy
 * (their intake: two batches per instance), and holds the rest of that tenant's groups here,
 * released (in the fair queue's order) as its jobs are answered. A tenant with nothing out
 * goes straight through to the workers, whose batchers then take tenants in turn. With no
 * worker ready (a pool scaled to zero) nothing is held: queued work is what starts one.
 */
export class FairRelease {
  readonly #held = new Map<string, FairQueue<Held>>();
  /** Per queue, the jobs sent and not yet answered: tenant and requests. */
  readonly #out = new Map<string, Map<string, { tenant: string; requests: number }>>();
  readonly #send: (group: JobGroup) => void;

  constructor(send: (group: JobGroup) => void) {
    this.#send = send;
  }

  /** Sends the group now when its tenant has fewer than `intake` requests out on the queue (or intake is 0), else holds it. */
  offer(group: JobGroup, intake: number): void {
    let held = this.#held.get(group.queue);
    const tenant = group.tenant ?? '';
    const waiting = held?.items.some((item) => (item.tenant ?? '') === tenant) ?? false;
    if (intake === 0 || (!waiting && this.#tenantOut(group.queue, tenant) < intake)) return this.#dispatch(group);
    if (!held) this.#held.set(group.queue, (held = new FairQueue<Held>()));
    held.push({
      group,
      rows: group.requests.length,
      priority: group.priority,
      ...(group.tenant !== undefined ? { tenant: group.tenant } : {}),
      ...(group.weight !== undefined ? { weight: group.weight } : {}),
    });
  }

  /** A job of the queue is answered (or its requests gave up): its tenant has room again. */
  done(queue: string, jobId: string, intake: number): void {
    this.#out.get(queue)?.delete(jobId);
    this.release(queue, intake);
  }

  /** Sends held groups whose tenants have room, in fair order; those whose every request has expired are dropped (their callers were answered). */
  release(queue: string, intake: number): void {
    const held = this.#held.get(queue);
    if (!held) return;
    const now = Date.now();
    const room = new Map<string, number>();
    const chosen: number[] = [];
    held.items.forEach((item, index) => {
      const tenant = item.tenant ?? '';
      const left = room.get(tenant) ?? intake - this.#tenantOut(queue, tenant);
      if (intake > 0 && left <= 0) return;
      chosen.push(index);
      room.set(tenant, left - item.rows);
    });
    for (const next of held.take(chosen)) {
      if (next.group.requests.every((request) => request.deadline <= now)) continue;
      this.#dispatch(next.group);
    }
    if (held.size === 0) this.#held.delete(queue);
  }

  /** Queues holding groups, for a release when the workers' intake may have grown. */
  queues(): string[] {
    return [...this.#held.keys()];
  }

  #dispatch(group: JobGroup): void {
    let out = this.#out.get(group.queue);
    if (!out) this.#out.set(group.queue, (out = new Map()));
    out.set(group.jobId, { tenant: group.tenant ?? '', requests: group.requests.length });
    this.#send(group);
  }

  #tenantOut(queue: string, tenant: string): number {
    let requests = 0;
    for (const job of this.#out.get(queue)?.values() ?? []) if (job.tenant === tenant) requests += job.requests;
    return requests;
  }
}
