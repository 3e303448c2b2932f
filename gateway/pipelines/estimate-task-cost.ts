import { isModelStep, type PipelineConfig } from './pipeline-config.js';
import type { TransformCatalog } from './transforms/catalog.js';

/**
 * Items a map step is taken to run over when its list is made by an earlier step (the
 * lines of a page): the task reserves this many up front and holds any more from the
 * budget one call at a time as they run.
 */
export const MAP_ITEMS_RESERVED = 8;

/** A request's reserve price by model or route name (routing's estimateCallUsd). */
export type CallPrice = (name: string, version?: string) => number;

/**
 * What a task reserves from its tenant's budget when it is submitted: each model step's
 * requests (a map step's per item), and the requests transforms send themselves, counted
 * from the inputs where they tell (a clip's windows), each at its model's reserve price.
 * `stepPrice` prices a model step's request where it costs more than its call (a task's
 * explanation of it); a transform's calls are never explained.
 */
export function estimateTaskCostUsd(
  pipeline: PipelineConfig,
  inputs: Readonly<Record<string, unknown>>,
  transforms: TransformCatalog,
  price: CallPrice,
  stepPrice: CallPrice = price,
): number {
  let usd = 0;
  for (const step of pipeline.steps) {
    if (isModelStep(step)) {
      let items = 1;
      if (step.map) {
        const lists = Object.values(step.inputs).map((value) => inputs[value]);
        items = lists.every(Array.isArray) && lists.length > 0 ? (lists[0] as unknown[]).length : MAP_ITEMS_RESERVED;
      }
      usd += items * stepPrice(step.model, step.version);
      continue;
    }
    const transform = transforms.get(step.transform);
    const known: Record<string, unknown> = {};
    for (const [port, value] of Object.entries(step.inputs)) if (Object.hasOwn(inputs, value)) known[port] = inputs[value];
    for (const estimate of transform.estimateModelCalls?.(known, step.options) ?? [])
      usd += estimate.calls * price(estimate.model, estimate.version);
  }
  return usd;
}
