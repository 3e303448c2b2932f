import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelDefinition } from '../../workers/repository/load-repository.js';
import { configErrorFromIssues, ModelConfigError } from '../../workers/repository/load-repository.js';
import type { RouteConfig } from '../policy/policy-config.js';
import { isModelStep, pipelineConfigSchema, type PipelineConfig } from './pipeline-config.js';
import type { TransformCatalog } from './transforms/catalog.js';

export const PIPELINE_FILE = 'pipeline.json';

/**
 * Every pipeline folder (one with a pipeline.json) in the model repository, validated
 * and checked against the models and transforms it names, so a wiring mistake stops
 * start-up instead of failing tasks later.
 */
export async function loadPipelines(
  repository: string,
  models: readonly ModelDefinition[],
  transforms: TransformCatalog,
  routes: readonly RouteConfig[] = [],
): Promise<PipelineConfig[]> {
  const entries = await readdir(repository, { withFileTypes: true });
  const pipelines: PipelineConfig[] = [];
  for (const entry of entries.filter((candidate) => candidate.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const files = await readdir(join(repository, entry.name));
    if (!files.includes(PIPELINE_FILE)) continue;
    if (models.some((model) => model.name === entry.name))
      throw new ModelConfigError(join(repository, entry.name), '', 'holds both a config.json and a pipeline.json');
    pipelines.push(await readPipeline(join(repository, entry.name, PIPELINE_FILE), entry.name, models, transforms, routes));
  }
  return pipelines;
}

async function readPipeline(
  file: string,
  folder: string,
  models: readonly ModelDefinition[],
  transforms: TransformCatalog,
  routes: readonly RouteConfig[],
): Promise<PipelineConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ModelConfigError(file, '', `is not readable JSON (${(error as Error).message})`);
  }
  const parsed = pipelineConfigSchema.safeParse(raw);
  if (!parsed.success) throw configErrorFromIssues(file, parsed.error.issues);
  const pipeline = parsed.data;
  if (pipeline.name !== folder) throw new ModelConfigError(file, 'name', `"${pipeline.name}" must match its folder name "${folder}"`);
  pipeline.steps.forEach((step, index) => {
    const fail = (field: string, problem: string): never => {
      throw new ModelConfigError(file, `steps[${index}]${field}`, problem);
    };
    if (isModelStep(step)) {
      // A route's name runs its tiers, each of which must take the step's ports.
      const route = step.version === undefined ? routes.find((candidate) => candidate.name === step.model) : undefined;
      const targets = route
        ? route.tiers.map((tier) => ({ name: tier.model, version: tier.version }))
        : [{ name: step.model, version: step.version }];
      for (const target of targets) {
        const model = models.find((candidate) => candidate.name === target.name);
        const what = `model "${target.name}"`;
        if (!model) return fail('.model', route ? `route "${route.name}" has a tier with no ${what}` : `no ${what} in the repository`);
        const { inputs, outputs, versions } = model.config;
        if (target.version !== undefined && !(target.version in versions)) fail('.version', `${what} has no version ${target.version}`);
        for (const spec of inputs) if (!(spec.name in step.inputs)) fail('.inputs', `${what} needs input "${spec.name}"`);
        for (const port of Object.keys(step.inputs))
          if (!inputs.some((spec) => spec.name === port)) fail('.inputs', `${what} has no input "${port}"`);
        for (const port of Object.keys(step.outputs))
          if (!outputs.some((spec) => spec.name === port)) fail('.outputs', `${what} has no output "${port}"`);
      }
      return;
    }
    if (!transforms.has(step.transform))
      return fail('.transform', `no transform "${step.transform}" (built in: ${transforms.names().join(', ')})`);
    const transform = transforms.get(step.transform);
    const wired = Object.keys(step.inputs).sort().join(',');
    if (wired !== [...transform.inputs].sort().join(','))
      fail('.inputs', `transform "${step.transform}" takes ${transform.inputs.join(', ')}`);
    for (const port of Object.keys(step.outputs))
      if (!transform.outputs.includes(port))
        fail('.outputs', `transform "${step.transform}" has no output "${port}" (outputs: ${transform.outputs.join(', ')})`);
    try {
      transform.checkOptions(step.options);
    } catch (error) {
      fail('.options', (error as Error).message);
    }
    for (const called of transform.modelsCalled?.(step.options) ?? []) {
      const known = models.some((candidate) => candidate.name === called) || routes.some((route) => route.name === called);
      if (!known) fail('.options', `transform "${step.transform}" calls model "${called}", which is not in the repository`);
    }
  });
  return pipeline;
}
