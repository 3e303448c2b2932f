import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { DATATYPE_INFO } from '../protocol/datatypes.js';
import { splitRows } from '../protocol/tensor-rows.js';
import type { Tensor } from '../protocol/tensor.js';
import { joinBatchInputs } from './batch-rows.js';
import type { BatchRun, BatchRunResult, InstanceSpec, ModelInstance } from './runtime.js';
import { spawnThread } from './spawn-thread.js';
import type { FromThread, ThreadReply, ToThread } from './thread-messages.js';
import { transferable } from './transfer.js';
import { RunFailedError } from './run-failed.js';

interface Pending {
  resolve(reply: ThreadReply): void;
  reject(error: Error): void;
}

/** A thread with its model loaded, before a handle wraps it. */
export interface LoadedThread {
  readonly thread: Worker;
  readonly provider: string;
  /** Providers tried first, with why each was passed over. */
  readonly skipped: readonly string[];
}

/**
 * Main-thread handle of one instance thread (any runtime): the thread loads the model,
 * then runs one batch per message; tensors cross by transfer, not copy.
 */
export class ThreadInstance implements ModelInstance {
  readonly provider: string;
  readonly #thread: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #exitListeners: ((reason: string) => void)[] = [];
  #nextId = 1;
  #closing = false;

  /** Use startThread() to get a LoadedThread. */
  constructor(loaded: LoadedThread) {
    this.#thread = loaded.thread;
    this.provider = loaded.provider;
    loaded.thread.on('message', (message: FromThread) => this.#onMessage(message));
    loaded.thread.on('error', (error) => this.#die(`thread error: ${error.message}`));
    loaded.thread.on('exit', (code) => this.#die(`thread exited with code ${code}`));
  }

  async run(batch: BatchRun): Promise<BatchRunResult> {
    const joinStart = performance.now();
    const joined = joinHere(batch);
    const requests = joined ? [{ inputs: joined }] : batch.requests;
    const buffers: ArrayBuffer[] = [];
    const owned = requests.map((request) => {
      const result = transferable(request.inputs);
      buffers.push(...result.buffers);
      return { inputs: result.tensors };
    });
    const joinMs = performance.now() - joinStart;
    const reply = await this.request((id) => ({ type: 'run', id, batch: { requests: owned, outputs: batch.outputs } }), buffers);
    if (reply.type === 'run-failed') throw new RunFailedError(reply.message);
    if (reply.type !== 'result') throw new Error(`unexpected ${reply.type} reply to a run`);
    const inputMs = reply.inputMs + joinMs;
    if (!joined) return { outputs: reply.outputs, computeMs: reply.computeMs, inputMs, outputMs: reply.outputMs };
    const splitStart = performance.now();
    const outputs = splitJoined(batch, reply.outputs[0] ?? []);
    return { outputs, computeMs: reply.computeMs, inputMs, outputMs: reply.outputMs + (performance.now() - splitStart) };
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#thread.terminate();
  }

  onExit(listener: (reason: string) => void): void {
    this.#exitListeners.push(listener);
  }

  /** Sends a numbered message and resolves with the thread's reply to it. */
  protected request(message: (id: number) => ToThread, transfer: ArrayBuffer[] = []): Promise<ThreadReply> {
    if (this.#closing) return Promise.reject(new Error('instance is closed'));
    const id = this.#nextId++;
    return new Promise<ThreadReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        this.#thread.postMessage(message(id), transfer);
      } catch (error) {
        this.#pending.delete(id);
        reject(error as Error);
      }
    });
  }

  #onMessage(message: FromThread): void {
    if (!('id' in message)) return;
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    pending.resolve(message);
  }

  #die(reason: string): void {
    for (const pending of this.#pending.values()) pending.reject(new Error(`instance died: ${reason}`));
    this.#pending.clear();
    if (this.#closing) return;
    this.#closing = true;
    for (const listener of this.#exitListeners.splice(0)) listener(reason);
  }
}

/** Batches joined on this thread at most: a copy this size takes microseconds, a bigger one would stall the event loop. */
const JOIN_HERE_MAX_BYTES = 1024 * 1024;

/**
 * The batch's inputs joined row-wise here, when it has several requests of fixed-size
 * tensors, small in all: then one buffer per input crosses to the thread and one per output
 * comes back, where transferring each request's buffers (and cloning each request's tensor
 * objects) cost more of the event loop than the copy. Undefined: send the requests as they are.
 */
function joinHere(batch: BatchRun): Tensor[] | undefined {
  if (batch.requests.length < 2) return undefined;
  let bytes = 0;
  for (const request of batch.requests) {
    for (const input of request.inputs) {
      if (DATATYPE_INFO[input.datatype].bytes === 0) return undefined;
      bytes += input.data.byteLength;
    }
  }
  return bytes <= JOIN_HERE_MAX_BYTES ? joinBatchInputs(batch) : undefined;
}

/** A joined batch's outputs cut back into each request's rows (its first input's first dimension). */
function splitJoined(batch: BatchRun, outputs: readonly Tensor[]): Tensor[][] {
  const rowCounts = batch.requests.map((request) => request.inputs[0]?.shape[0] ?? 1);
  const perRequest: Tensor[][] = batch.requests.map(() => []);
  for (const output of outputs) splitRows(output, rowCounts).forEach((part, index) => perRequest[index]!.push(part));
  return perRequest;
}

/**
 * Starts a runtime's thread module (a path relative to workers/runtime, without
 * extension) and loads the model in it; rejects with the reason when nothing loads it.
 */
export async function startThread(spec: InstanceSpec, threadModule: string): Promise<LoadedThread> {
  const thread = spawnThread(import.meta.url, threadModule, `${threadModule.split('/').pop()} ${spec.label}`);
  try {
    const loaded = await new Promise<{ provider: string; skipped: readonly string[] }>((resolve, reject) => {
      const onExit = (code: number): void => reject(new Error(`instance thread exited with code ${code} while loading`));
      thread.once('error', reject);
      thread.once('exit', onExit);
      thread.once('message', (message: FromThread) => {
        thread.off('error', reject);
        thread.off('exit', onExit);
        if (message.type === 'loaded') resolve(message);
        else reject(new Error(message.type === 'load-failed' ? message.message : `unexpected ${message.type}`));
      });
      thread.postMessage({ type: 'load', spec } satisfies ToThread);
    });
    return { thread, provider: loaded.provider, skipped: loaded.skipped };
  } catch (error) {
    await thread.terminate();
    throw error;
  }
}
