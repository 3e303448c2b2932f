import { z } from 'zod';
import { ServingError } from '../../workers/protocol/errors.js';

/** `parameters.explain` of an explain request; every field optional, defaults chosen per input kind. */
const explainSchema = z.strictObject({
  /** The output whose score is explained; by default the model's first. */
  target: z.string().min(1).optional(),
  /** The index in the target output (per row); by default each row's top class. */
  class: z.number().int().min(0).optional(),
  method: z.enum(['occlusion', 'ablation', 'kernel_shap']).optional(),
  /** KernelSHAP's sample budget (coalitions beyond the empty and the full one). */
  samples: z.number().int().min(8).max(100_000).optional(),
  baseline: z.enum(['zeros', 'mean', 'blur']).optional(),
  /** Occlusion's patch edge and step, in pixels of the model's input. */
  patch_size: z.number().int().min(1).max(4096).optional(),
  patch_stride: z.number().int().min(1).max(4096).optional(),
  /** Answer with the heatmap as PNG (as `Accept: image/png` does). */
  render: z.boolean().optional(),
  /** KernelSHAP's sampling seed, for reproducible attributions. */
  seed: z.number().int().min(0).optional(),
});

export type ExplainOptions = z.output<typeof explainSchema>;
export type ExplainMethod = NonNullable<ExplainOptions['method']>;
export type Baseline = NonNullable<ExplainOptions['baseline']>;

/** Validated once; a wrong field is a 400 that names it. */
export function parseExplainOptions(raw: unknown): ExplainOptions {
  if (raw === undefined) return {};
  const parsed = explainSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length > 0 ? `parameters.explain.${issue.path.join('.')}` : 'parameters.explain';
  throw new ServingError('invalid_parameter', `${where}: ${issue.message}`);
}
