import { availableParallelism } from 'node:os';
import { copyInSlices } from '../../workers/threads/copy-in-slices.js';
import { ThreadPool } from '../../workers/threads/thread-pool.js';
import { parseTaskJson, type TaskJson, type TaskJsonJob } from './task-json.js';

/** Task bodies this large are read on a thread (parse, base64 decoding, fingerprint): 60 MiB costs about a second. */
export const TASK_JSON_THREAD_MIN_BYTES = 1024 * 1024;

let pool: ThreadPool | undefined;

/**
 * parseTaskJson, on a thread for large bodies; the body is copied to it a slice per turn of
 * the event loop (it stays the request's), and decoded media comes back by transfer. Large
 * JSON values (not media) still come back by structured clone, which the event loop pays for.
 */
export async function parseTaskJsonOffThread(job: TaskJsonJob): Promise<TaskJson> {
  if (job.body.byteLength < TASK_JSON_THREAD_MIN_BYTES) return parseTaskJson(job);
  pool ??= new ThreadPool({
    from: import.meta.url,
    module: 'task-json-thread',
    name: 'task-json',
    size: Math.min(2, availableParallelism()),
  });
  const body = await copyInSlices(job.body);
  const result = await pool.run<TaskJson>({ ...job, body }, [body.buffer as ArrayBuffer]);
  const inputs = result.parsed.inputs as Record<string, unknown> | undefined;
  // Media crossed as Uint8Array; the task path works on Buffers, as when read in line.
  for (const name of job.media) {
    const value = inputs?.[name];
    if (value instanceof Uint8Array && !Buffer.isBuffer(value))
      inputs![name] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return result;
}
