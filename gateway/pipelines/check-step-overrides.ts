import { isModelStep, type PipelineConfig } from './pipeline-config.js';
import type { TransformCatalog } from './transforms/catalog.js';

type Overrides = Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>;

/**
 * Fails startup on a tenant's `pipeline_options` that name no pipeline or transform step,
 * or that its transform refuses once laid over the step's own options: a typo must not
 * wait for that tenant's first task.
 */
export function checkStepOverrides(
  pipelines: ReadonlyMap<string, PipelineConfig>,
  transforms: TransformCatalog,
  tenants: readonly { name: string; pipeline_options?: Overrides }[],
): void {
  for (const tenant of tenants) {
    for (const [name, steps] of Object.entries(tenant.pipeline_options ?? {})) {
      const pipeline = pipelines.get(name);
      if (!pipeline) throw new Error(`tenant "${tenant.name}": pipeline_options name pipeline "${name}", which is not loaded`);
      for (const [id, options] of Object.entries(steps)) {
        const step = pipeline.steps.find((candidate) => candidate.id === id);
        if (!step || isModelStep(step)) throw new Error(`tenant "${tenant.name}": pipeline "${name}" has no transform step "${id}"`);
        try {
          transforms.get(step.transform).checkOptions({ ...step.options, ...options });
        } catch (error) {
          throw new Error(`tenant "${tenant.name}": pipeline_options for ${name}/${id}: ${(error as Error).message}`);
        }
      }
    }
  }
}
