import type { Worker } from 'node:worker_threads';
import type { BatchRun, BatchRunResult, InstanceSpec, ModelInstance } from '../runtime.js';
import { spawnThread } from '../spawn-thread.js';
import { transferable } from '../transfer.js';
import type { FromThread, ToThread } from './thread-messages.js';

interface Pending {
  resolve(result: BatchRunResult): void;
  reject(error: Error): void;
}

/** Main-thread handle of one ONNX instance thread. */
export class OnnxInstance implements ModelInstance {
  readonly provider: string;
  readonly #thread: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #exitListeners: ((reason: string) => void)[] = [];
  #nextId = 1;
  #closing = false;

  private constructor(thread: Worker, provider: string) {
    this.#thread = thread;
    this.provider = provider;
    thread.on('message', (message: FromThread) => this.#onMessage(message));
    thread.on('error', (error) => this.#die(`thread error: ${error.message}`));
    thread.on('exit', (code) => this.#die(`thread exited with code ${code}`));
  }

  /** Starts a thread and loads the model in it; rejects with the reason when no provider loads it. */
  static async start(spec: InstanceSpec): Promise<{ instance: OnnxInstance; skipped: readonly string[] }> {
    const thread = spawnThread(import.meta.url, 'onnx-thread', `onnx ${spec.label}`);
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
    }).catch(async (error: unknown) => {
      await thread.terminate();
      throw error;
    });
    return { instance: new OnnxInstance(thread, loaded.provider), skipped: loaded.skipped };
  }

  run(batch: BatchRun): Promise<BatchRunResult> {
    if (this.#closing) return Promise.reject(new Error('instance is closed'));
    const id = this.#nextId++;
    const buffers: ArrayBuffer[] = [];
    const requests = batch.requests.map((request) => {
      const owned = transferable(request.inputs);
      buffers.push(...owned.buffers);
      return { inputs: owned.tensors };
    });
    return new Promise<BatchRunResult>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        this.#thread.postMessage({ type: 'run', id, batch: { requests, outputs: batch.outputs } } satisfies ToThread, buffers);
      } catch (error) {
        this.#pending.delete(id);
        reject(error as Error);
      }
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#thread.terminate();
  }

  onExit(listener: (reason: string) => void): void {
    this.#exitListeners.push(listener);
  }

  #onMessage(message: FromThread): void {
    if (message.type !== 'result' && message.type !== 'run-failed') return;
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    if (message.type === 'result') {
      pending.resolve({ outputs: message.outputs, computeMs: message.computeMs, marshalMs: message.marshalMs });
    } else {
      pending.reject(new Error(message.message));
    }
  }

  #die(reason: string): void {
    for (const pending of this.#pending.values()) pending.reject(new Error(`instance died: ${reason}`));
    this.#pending.clear();
    if (this.#closing) return;
    this.#closing = true;
    for (const listener of this.#exitListeners.splice(0)) listener(reason);
  }
}
