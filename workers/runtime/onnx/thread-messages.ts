import type { Tensor } from '../../protocol/tensor.js';
import type { BatchRun, InstanceSpec } from '../runtime.js';

/** Messages between an OnnxInstance and its thread. */
export type ToThread =
  | { readonly type: 'load'; readonly spec: InstanceSpec }
  | { readonly type: 'run'; readonly id: number; readonly batch: BatchRun };

export type FromThread =
  | { readonly type: 'loaded'; readonly provider: string; readonly skipped: readonly string[] }
  | { readonly type: 'load-failed'; readonly message: string }
  | { readonly type: 'result'; readonly id: number; readonly outputs: Tensor[][]; readonly computeMs: number; readonly marshalMs: number }
  | { readonly type: 'run-failed'; readonly id: number; readonly message: string };
