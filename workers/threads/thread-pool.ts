import type { Worker } from 'node:worker_threads';
import { ERROR_TABLE, ServingError, type ErrorCode } from '../protocol/errors.js';
import { spawnThread } from '../runtime/spawn-thread.js';
import type { JobReply, JobRequest } from './job-messages.js';

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Slot {
  thread?: Worker;
  readonly pending: Map<number, Pending>;
}

export interface ThreadPoolOptions {
  /** `import.meta.url` of a module next to the thread's module. */
  readonly from: string;
  /** The thread's module, without extension; it calls serveJobs(). */
  readonly module: string;
  readonly name: string;
  readonly size: number;
}

/**
 * A few worker threads for CPU-heavy request work (decoding audio, parsing large JSON)
 * that would otherwise stall the event loop. Threads start on first use, take the next
 * job by fewest pending, and do not keep an idle process alive. A thread that dies fails
 * its jobs (the process lives on) and is replaced by the next job.
 */
export class ThreadPool {
  readonly #options: ThreadPoolOptions;
  readonly #slots: Slot[];
  #nextId = 1;
  #closed = false;

  constructor(options: ThreadPoolOptions) {
    this.#options = options;
    this.#slots = Array.from({ length: Math.max(1, options.size) }, () => ({ pending: new Map<number, Pending>() }));
  }

  /** Runs one job; `transfer` moves those buffers to the thread instead of copying them. */
  run<T>(payload: unknown, transfer: readonly ArrayBuffer[] = []): Promise<T> {
    if (this.#closed) return Promise.reject(new Error(`the ${this.#options.name} threads are closed`));
    const slot = this.#slots.reduce((best, candidate) => (candidate.pending.size < best.pending.size ? candidate : best));
    const thread = slot.thread ?? this.#start(slot);
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      slot.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      if (slot.pending.size === 1) thread.ref();
      try {
        thread.postMessage({ id, payload } satisfies JobRequest, [...transfer]);
      } catch (error) {
        this.#settle(slot, id);
        reject(error as Error);
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#slots.map((slot) => slot.thread?.terminate()));
  }

  #start(slot: Slot): Worker {
    const { from, module, name } = this.#options;
    const thread = spawnThread(from, module, name);
    thread.unref();
    slot.thread = thread;
    thread.on('message', (reply: JobReply) => {
      const pending = this.#settle(slot, reply.id);
      if (!pending) return;
      if (reply.error) pending.reject(rebuildError(reply.error));
      else pending.resolve(reply.value);
    });
    const die = (reason: string): void => {
      if (slot.thread !== thread) return;
      slot.thread = undefined;
      for (const pending of slot.pending.values()) pending.reject(new Error(`${name} thread failed: ${reason}`));
      slot.pending.clear();
    };
    thread.on('error', (error) => die(error.message));
    thread.on('exit', (code) => die(`exited with code ${code}`));
    return thread;
  }

  #settle(slot: Slot, id: number): Pending | undefined {
    const pending = slot.pending.get(id);
    slot.pending.delete(id);
    if (pending && slot.pending.size === 0) slot.thread?.unref();
    return pending;
  }
}

function rebuildError(error: NonNullable<JobReply['error']>): Error {
  if (error.code !== undefined && error.code in ERROR_TABLE) return new ServingError(error.code as ErrorCode, error.message);
  return new Error(error.message);
}
