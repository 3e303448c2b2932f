import { ServingError } from '../../workers/protocol/errors.js';
import type { InferResult } from '../../workers/protocol/inference.js';
import { decodeResult, isErrorCode, type Reply } from '../../workers/queue/job-codec.js';

interface Waiter {
  readonly queue: string;
  readonly since: number;
  readonly timer: NodeJS.Timeout;
  resolve(result: InferResult): void;
  reject(error: Error): void;
}

/**
 * The requests this gateway has queued and not yet answered, by job id. Each is
 * settled exactly once: by its reply, by the fallback lookup, or by its deadline.
 */
export class PendingReplies {
  readonly #waiters = new Map<string, Waiter>();

  get size(): number {
    return this.#waiters.size;
  }

  wait(jobId: string, queue: string, deadline: number, requestId: string): Promise<InferResult> {
    return new Promise<InferResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settle(jobId, (waiter) => waiter.reject(new ServingError('request_timeout', `request ${requestId} was not answered within its timeout`)));
      }, Math.max(0, deadline - Date.now()));
      this.#waiters.set(jobId, { queue, since: Date.now(), timer, resolve, reject });
    });
  }

  /** Settles a waiter from a reply; replies for unknown ids (answered already, or another life) are dropped. */
  deliver(reply: Reply): void {
    this.#settle(reply.jobId, (waiter) => {
      if (reply.ok) waiter.resolve(decodeResult(reply.result));
      else waiter.reject(new ServingError(isErrorCode(reply.code) ? reply.code : 'inference_failed', reply.message));
    });
  }

  fail(jobId: string, error: Error): void {
    this.#settle(jobId, (waiter) => waiter.reject(error));
  }

  /** Waiters older than `ageMs`, oldest first, for the fallback lookup. */
  older(ageMs: number, limit: number): { jobId: string; queue: string }[] {
    const cutoff = Date.now() - ageMs;
    const out: { jobId: string; queue: string }[] = [];
    for (const [jobId, waiter] of this.#waiters) {
      if (waiter.since > cutoff || out.length >= limit) break;
      out.push({ jobId, queue: waiter.queue });
    }
    return out;
  }

  #settle(jobId: string, action: (waiter: Waiter) => void): void {
    const waiter = this.#waiters.get(jobId);
    if (!waiter) return;
    this.#waiters.delete(jobId);
    clearTimeout(waiter.timer);
    action(waiter);
  }
}
