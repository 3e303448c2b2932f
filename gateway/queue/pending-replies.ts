import { ServingError } from '../../workers/protocol/errors.js';
import type { InferResult } from '../../workers/protocol/inference.js';
import { isErrorCode, type Reply } from '../../workers/queue/job-codec.js';

interface Waiter {
  readonly since: number;
  readonly timer: NodeJS.Timeout;
  resolve(result: InferResult): void;
  reject(error: Error): void;
}

interface JobWaiters {
  readonly queue: string;
  readonly since: number;
  readonly items: Map<number, Waiter>;
  /** A request of it reached its deadline unanswered. */
  expired?: boolean;
}

/**
 * The requests this gateway has queued and not yet answered, by job and item. Each is
 * settled exactly once: by its reply, by the fallback lookup, or by its deadline.
 */
export class PendingReplies {
  readonly #jobs = new Map<string, JobWaiters>();
  /** Called whenever a job has no unsettled item left. */
  readonly #onJobSettled: (jobId: string, queue: string, expired: boolean) => void;

  /** `onJobSettled` hears when a job has nothing left waiting, and whether a request of it ran out of time. */
  constructor(onJobSettled: (jobId: string, queue: string, expired: boolean) => void = () => undefined) {
    this.#onJobSettled = onJobSettled;
  }

  /** `timedOut` makes the error a request gets at `deadline` (by default request_timeout). */
  wait(jobId: string, item: number, queue: string, deadline: number, requestId: string, timedOut?: () => Error): Promise<InferResult> {
    return new Promise<InferResult>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          const error = timedOut?.() ?? new ServingError('request_timeout', `request ${requestId} was not answered within its timeout`);
          const job = this.#jobs.get(jobId);
          if (job) job.expired = true;
          this.#settle(jobId, item, (waiter) => waiter.reject(error));
        },
        Math.max(0, deadline - Date.now()),
      );
      let job = this.#jobs.get(jobId);
      if (!job) {
        job = { queue, since: Date.now(), items: new Map() };
        this.#jobs.set(jobId, job);
      }
      job.items.set(item, { since: Date.now(), timer, resolve, reject });
    });
  }

  /** Settles the items a reply answers; unknown ones (answered already, another life) are dropped. */
  deliver(reply: Reply): void {
    for (const answer of reply.items) {
      this.#settle(reply.jobId, answer.item, (waiter) => {
        if (answer.ok) waiter.resolve(answer.result);
        else waiter.reject(new ServingError(isErrorCode(answer.code) ? answer.code : 'inference_failed', answer.message));
      });
    }
  }

  /** Fails one unanswered item (its caller left); a later reply for it is dropped. */
  fail(jobId: string, item: number, error: Error): void {
    this.#settle(jobId, item, (waiter) => waiter.reject(error));
  }

  /** Fails every unanswered item of a job. */
  failJob(jobId: string, error: Error): void {
    for (const item of [...(this.#jobs.get(jobId)?.items.keys() ?? [])]) this.#settle(jobId, item, (waiter) => waiter.reject(error));
  }

  /** Jobs with items waiting longer than `ageMs`, oldest first, for the fallback lookup. */
  older(ageMs: number, limit: number): { jobId: string; queue: string }[] {
    const cutoff = Date.now() - ageMs;
    const out: { jobId: string; queue: string }[] = [];
    for (const [jobId, job] of this.#jobs) {
      if (job.since > cutoff || out.length >= limit) break;
      out.push({ jobId, queue: job.queue });
    }
    return out;
  }

  #settle(jobId: string, item: number, action: (waiter: Waiter) => void): void {
    const job = this.#jobs.get(jobId);
    const waiter = job?.items.get(item);
    if (!job || !waiter) return;
    job.items.delete(item);
    clearTimeout(waiter.timer);
    action(waiter);
    if (job.items.size === 0) {
      this.#jobs.delete(jobId);
      this.#onJobSettled(jobId, job.queue, job.expired === true);
    }
  }
}
