import { ServingError } from '../../workers/protocol/errors.js';
import type { ModelConfig } from '../../workers/repository/model-config.js';
import type { Baseline, ExplainMethod, ExplainOptions } from './explain-options.js';
import { elementGroups, patchGroups, type FeatureGroups } from './feature-groups.js';
import { inputLayout, type InputLayout } from './input-layout.js';

export const DEFAULT_MAX_EXPLAIN_ROWS = 10_000;
/** KernelSHAP fits one value per group: more than this and the fit costs more than the rows. */
const MAX_SHAP_GROUPS = 256;
/** A vector's features are grouped in contiguous runs beyond this many, for KernelSHAP. */
const SHAP_VECTOR_GROUPS = 128;

/** How one input of every row is explained. */
export interface InputPlan {
  readonly layout: InputLayout;
  readonly method: ExplainMethod;
  readonly baseline: Baseline;
  readonly groups: FeatureGroups;
  readonly patch?: { readonly size: number; readonly stride: number };
  /** KernelSHAP's coalitions; 0 for the one-group-at-a-time methods. */
  readonly samples: number;
  /** Model rows per explained row of this input. */
  readonly rowsPerRow: number;
  /** Blur radius for the blur baseline. */
  readonly blurRadius: number;
}

function unsupported(message: string): ServingError {
  return new ServingError('explain_unsupported', message);
}

/** Defaults by input kind: images get occlusion over a patch grid, vectors ablation (KernelSHAP when `samples` is under their width). */
function chooseMethod(layout: InputLayout, options: ExplainOptions): ExplainMethod {
  if (options.method) return options.method;
  if (layout.kind === 'image') return 'occlusion';
  return options.samples !== undefined && options.samples < layout.size ? 'kernel_shap' : 'ablation';
}

export function planInput(layout: InputLayout, options: ExplainOptions): InputPlan {
  const method = chooseMethod(layout, options);
  const baseline = options.baseline ?? (layout.kind === 'image' ? 'mean' : 'zeros');
  const image = layout.image;
  if (method === 'occlusion' && !image)
    throw unsupported(`occlusion covers image patches; input "${layout.name}" is a vector (use ablation or kernel_shap)`);
  if ((options.patch_size !== undefined || options.patch_stride !== undefined) && !image)
    throw unsupported(`patch_size and patch_stride are for image inputs; input "${layout.name}" is a vector`);
  const size = image
    ? Math.min(options.patch_size ?? Math.max(1, Math.round(Math.min(image.height, image.width) / 8)), image.height, image.width)
    : 1;
  // KernelSHAP's patches never overlap: each pixel belongs to one feature.
  const stride = method === 'kernel_shap' ? size : (options.patch_stride ?? size);
  let groups: FeatureGroups;
  if (image && method !== 'ablation') groups = patchGroups(image, size, stride);
  else if (image) groups = patchGroups(image, 1, 1);
  else groups = elementGroups(layout, method === 'kernel_shap' ? SHAP_VECTOR_GROUPS : Number.POSITIVE_INFINITY);
  if (method === 'kernel_shap' && groups.members.length > MAX_SHAP_GROUPS) {
    throw unsupported(
      `kernel_shap over ${groups.members.length} patches of input "${layout.name}": at most ${MAX_SHAP_GROUPS}, so use a larger patch_size`,
    );
  }
  const samples = method === 'kernel_shap' ? (options.samples ?? 2 * groups.members.length + 64) : 0;
  return {
    layout,
    method,
    baseline,
    groups,
    ...(image && method !== 'ablation' ? { patch: { size, stride } } : {}),
    samples,
    // KernelSHAP also scores the all-baseline row.
    rowsPerRow: method === 'kernel_shap' ? samples + 1 : groups.members.length,
    blurRadius: Math.max(1, Math.floor(size / 2)),
  };
}

/** Every input planned, and the rows it will cost; over `max_explain_rows` is a 400 before anything runs. */
export function planExplanation(config: ModelConfig, options: ExplainOptions, rows: number): { plans: InputPlan[]; totalRows: number } {
  const plans = config.inputs.map((spec) => planInput(inputLayout(spec), options));
  const totalRows = plans.reduce((sum, plan) => sum + plan.rowsPerRow, 0) * rows;
  const limit = config.max_explain_rows ?? DEFAULT_MAX_EXPLAIN_ROWS;
  if (totalRows > limit) {
    throw new ServingError(
      'explain_too_many_rows',
      `explaining ${rows} row(s) of "${config.name}" needs ${totalRows} model rows; its max_explain_rows is ${limit}`,
    );
  }
  return { plans, totalRows };
}
