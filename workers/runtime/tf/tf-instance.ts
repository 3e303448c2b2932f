import type { InstanceSpec } from '../runtime.js';
import { startThread, ThreadInstance } from '../thread-instance.js';

/** tfjs's tensor bookkeeping in an instance thread. */
export interface TfMemory {
  readonly numTensors: number;
  readonly numBytes: number;
}

/** Main-thread handle of one TF instance thread; adds a memory probe for leak checks. */
export class TfInstance extends ThreadInstance {
  static async start(spec: InstanceSpec): Promise<{ instance: TfInstance; skipped: readonly string[] }> {
    const loaded = await startThread(spec, 'tf/tf-thread');
    return { instance: new TfInstance(loaded), skipped: loaded.skipped };
  }

  /** tf.memory() inside the thread: flat across runs when nothing leaks. */
  async memory(): Promise<TfMemory> {
    const reply = await this.request((id) => ({ type: 'memory', id }));
    if (reply.type !== 'memory') throw new Error(`unexpected ${reply.type} reply to a memory probe`);
    return { numTensors: reply.numTensors, numBytes: reply.numBytes };
  }
}
