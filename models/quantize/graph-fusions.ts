import { foldConvAffine } from './fold-conv-affine.js';
import { fuseHardSwish } from './fuse-hard-swish.js';
import { dropUnusedConstants } from './constant-tensors.js';
import type { GraphMessage } from './onnx-types.js';

/** How many patterns each rewrite replaced. */
export interface FusionCounts {
  readonly hardSwish: number;
  readonly convAffine: number;
}

/**
 * Rewrites that are exact in fp32 and leave fewer fp32 element-wise ops between the
 * quantized Convs: onnxruntime would fuse most of these itself, but not across the Q/DQ
 * nodes static quantization adds. Hard-swish goes first because it moves a scale in
 * front of itself for the Conv folding to take. Idempotent: a second call finds nothing.
 * Tensor names that readers outside a pattern use are kept.
 */
export function fuseForQuantization(graph: GraphMessage): FusionCounts {
  const hardSwish = fuseHardSwish(graph);
  const convAffine = foldConvAffine(graph);
  if (hardSwish + convAffine > 0) dropUnusedConstants(graph);
  return { hardSwish, convAffine };
}
