import { parentPort } from 'node:worker_threads';
import { isServingError } from '../protocol/errors.js';
import type { JobReply, JobRequest } from './job-messages.js';

/** What a job answers: its value, and the buffers in it to move (not copy) to the main thread. */
export interface JobResult {
  readonly value: unknown;
  readonly transfer?: readonly ArrayBuffer[];
}

/** The thread side of a ThreadPool: runs each job it is sent with `handle`, one at a time. */
export function serveJobs(handle: (payload: never) => JobResult | Promise<JobResult>): void {
  const port = parentPort;
  if (!port) throw new Error('serveJobs runs in a worker thread');
  port.on('message', async ({ id, payload }: JobRequest) => {
    try {
      const { value, transfer = [] } = await handle(payload as never);
      port.postMessage({ id, value } satisfies JobReply, [...transfer]);
    } catch (error) {
      const code = isServingError(error) ? error.code : undefined;
      port.postMessage({ id, error: { ...(code !== undefined ? { code } : {}), message: (error as Error).message } } satisfies JobReply);
    }
  });
}
