import type { Tensor } from '../protocol/tensor.js';
import type { BatchRun, InstanceSpec } from './runtime.js';

/** Messages between a ThreadInstance and its runtime's thread. */
export type ToThread =
  | { readonly type: 'load'; readonly spec: InstanceSpec }
  | { readonly type: 'run'; readonly id: number; readonly batch: BatchRun }
  /** Answered by runtimes that track their own tensors (TF); for leak checks. */
  | { readonly type: 'memory'; readonly id: number };

export type FromThread =
  | { readonly type: 'loaded'; readonly provider: string; readonly skipped: readonly string[] }
  | { readonly type: 'load-failed'; readonly message: string }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly outputs: Tensor[][];
      readonly computeMs: number;
      readonly inputMs: number;
      readonly outputMs: number;
    }
  | { readonly type: 'run-failed'; readonly id: number; readonly message: string }
  | { readonly type: 'memory'; readonly id: number; readonly numTensors: number; readonly numBytes: number };

/** Replies that answer a numbered request. */
export type ThreadReply = Extract<FromThread, { readonly id: number }>;
