import { z } from 'zod';

const valueName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_.-]*$/, 'names are letters, digits, _ . and -, starting with a letter or _');

/** What a caller sends for each pipeline input. */
const pipelineInput = z.strictObject({
  kind: z.enum(['image', 'audio', 'json']),
  description: z.string().optional(),
});

/** Ports name what a model or transform calls its inputs and outputs; values name the data between steps. */
const ports = z.record(z.string().min(1), valueName);

const modelStep = z.strictObject({
  id: valueName,
  model: z.string().min(1),
  version: z
    .string()
    .regex(/^[1-9][0-9]*$/)
    .optional(),
  /** Model input name -> value. */
  inputs: ports,
  /** Model output name -> value. */
  outputs: ports,
  /**
   * The inputs are lists: one request per element, all sent at once so they batch with
   * each other and with all other traffic for the model; the outputs are lists too.
   */
  map: z.boolean().default(false),
});

const transformStep = z.strictObject({
  id: valueName,
  transform: z.string().min(1),
  inputs: ports,
  outputs: ports,
  options: z.record(z.string(), z.unknown()).default({}),
});

export const pipelineConfigSchema = z
  .strictObject({
    name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'letters, digits, . _ - only'),
    description: z.string().optional(),
    inputs: z.record(valueName, pipelineInput).refine((inputs) => Object.keys(inputs).length > 0, 'at least one input'),
    steps: z.array(z.union([modelStep, transformStep])).min(1),
    /** Result field -> value. */
    outputs: z.record(z.string().min(1), valueName).refine((outputs) => Object.keys(outputs).length > 0, 'at least one output'),
    /**
     * A result whose `output` is one of `equals` is filed for human review as if the
     * request had asked for it: the task waits in needs_review for the verdict.
     */
    review_when: z
      .strictObject({ output: z.string().min(1), equals: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1) })
      .optional(),
    /** Whole-task timeout when the request sets none. */
    default_timeout_ms: z.number().int().min(1).max(600_000).default(60_000),
  })
  .superRefine((config, ctx) => {
    const producers = new Map<string, string>(Object.keys(config.inputs).map((name) => [name, 'input']));
    const ids = new Set<string>();
    config.steps.forEach((step, index) => {
      if (ids.has(step.id)) ctx.addIssue({ code: 'custom', path: ['steps', index, 'id'], message: `duplicate step id "${step.id}"` });
      ids.add(step.id);
      for (const value of Object.values(step.outputs)) {
        if (producers.has(value))
          ctx.addIssue({ code: 'custom', path: ['steps', index, 'outputs'], message: `value "${value}" is produced twice` });
        producers.set(value, step.id);
      }
    });
    config.steps.forEach((step, index) => {
      for (const value of Object.values(step.inputs)) {
        if (!producers.has(value))
          ctx.addIssue({ code: 'custom', path: ['steps', index, 'inputs'], message: `value "${value}" is produced by no input or step` });
      }
    });
    // Steps that wait on each other would never start: find them by running the graph dry.
    const available = new Set(Object.keys(config.inputs));
    const pending = new Set(config.steps);
    for (let progressed = true; progressed; ) {
      progressed = false;
      for (const step of pending) {
        if (!Object.values(step.inputs).every((value) => available.has(value))) continue;
        for (const value of Object.values(step.outputs)) available.add(value);
        pending.delete(step);
        progressed = true;
      }
    }
    if (pending.size > 0 && [...pending].every((step) => Object.values(step.inputs).every((value) => producers.has(value)))) {
      ctx.addIssue({
        code: 'custom',
        path: ['steps'],
        message: `steps ${[...pending].map((step) => `"${step.id}"`).join(', ')} wait on each other in a cycle`,
      });
    }
    if (config.review_when && !(config.review_when.output in config.outputs)) {
      ctx.addIssue({
        code: 'custom',
        path: ['review_when', 'output'],
        message: `"${config.review_when.output}" is not one of the outputs`,
      });
    }
    for (const [field, value] of Object.entries(config.outputs)) {
      if (!producers.has(value))
        ctx.addIssue({ code: 'custom', path: ['outputs', field], message: `value "${value}" is produced by no input or step` });
    }
  });

export type PipelineConfig = z.output<typeof pipelineConfigSchema>;
export type PipelineStep = PipelineConfig['steps'][number];
export type ModelStep = Extract<PipelineStep, { model: string }>;
export type TransformStep = Extract<PipelineStep, { transform: string }>;

export function isModelStep(step: PipelineStep): step is ModelStep {
  return 'model' in step;
}
