import type { Worker } from 'node:worker_threads';
import { spawnThread } from '../../../../workers/runtime/spawn-thread.js';
import type { RawImage } from './raw-image.js';
import type { WarpReply, WarpRequest } from './warp-thread.js';

interface Pending {
  resolve(crops: RawImage[]): void;
  reject(error: Error): void;
}

let thread: Worker | undefined;

/** A crop's pixels as a plain Uint8Array over the transferred buffer. */
const asBytes = (data: Uint8Array): Uint8Array => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
let nextId = 1;
const pending = new Map<number, Pending>();

/** The crop thread, started on first use and unreferenced so it never keeps a process alive; restarted if it dies. */
function warpThread(): Worker {
  if (thread) return thread;
  const started = spawnThread(import.meta.url, 'warp-thread', 'ocr-warp');
  started.unref();
  started.on('message', (reply: WarpReply) => {
    const waiting = pending.get(reply.id);
    if (!waiting) return;
    pending.delete(reply.id);
    if ('error' in reply) waiting.reject(new Error(reply.error));
    else waiting.resolve(reply.crops.map((crop) => ({ data: asBytes(crop.data), width: crop.width, height: crop.height })));
  });
  const fail = (reason: string): void => {
    if (thread === started) thread = undefined;
    for (const [id, waiting] of pending) {
      pending.delete(id);
      waiting.reject(new Error(`the OCR crop thread stopped: ${reason}`));
    }
  };
  started.on('error', (error) => fail(error.message));
  started.on('exit', (code) => fail(`exit code ${code}`));
  thread = started;
  return started;
}

/**
 * Upright crops of every quad, sampled on a worker thread: bilinear sampling is a
 * per-pixel loop, and a large photo's lines would hold the event loop for tens of
 * milliseconds. The image is copied to the thread (the caller keeps its own).
 */
export function warpQuads(image: RawImage, quads: WarpRequest['quads']): Promise<RawImage[]> {
  if (quads.length === 0) return Promise.resolve([]);
  const worker = warpThread();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, image: { data: image.data, width: image.width, height: image.height }, quads } satisfies WarpRequest);
  });
}
