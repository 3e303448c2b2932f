import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { taskExplainUsd } from '../../gateway/explain/explain-budget.js';
import { estimateTaskCostUsd } from '../../gateway/pipelines/estimate-task-cost.js';
import { pipelineConfigSchema } from '../../gateway/pipelines/pipeline-config.js';
import { builtInTransforms } from '../../gateway/pipelines/transforms/built-in.js';
import type { RouteConfig } from '../../gateway/policy/policy-config.js';
import { modelConfigSchema, type ModelConfig } from '../../workers/repository/model-config.js';
import { PROJECT_MODELS } from '../helpers/repository.js';

const project = (name: string): ModelConfig =>
  modelConfigSchema.parse(JSON.parse(readFileSync(join(PROJECT_MODELS, name, 'config.json'), 'utf8')));
const configs: Record<string, ModelConfig> = {
  'explain-quadrant': project('explain-quadrant'),
  'text-direction': project('text-direction'),
  'mlp-classifier': project('mlp-classifier'),
};
const definition = (model: string): ModelConfig | undefined => configs[model];
const routes = [
  { name: 'either', tiers: [{ model: 'explain-quadrant' }, { model: 'text-direction' }] },
  { name: 'vectors', tiers: [{ model: 'mlp-classifier' }] },
] as unknown as RouteConfig[];
/** 3e-6 USD a row at reserve_compute_ms 5 and 0.0006 USD per compute second. */
const ROW_USD = (0.0006 * 5) / 1000;

describe("a task's explanations are reserved with its calls", () => {
  it("an image model's request reserves its occlusion grid's rows; a vector model's none (tasks explain images only)", () => {
    // 32×32 in 4-pixel patches: 64 rows.
    expect(taskExplainUsd(definition, routes, 'explain-quadrant')).toBeCloseTo(64 * ROW_USD, 12);
    // 48×192 in 6-pixel patches: 8×32 = 256 rows, at text-direction's default reserve (10 ms).
    expect(taskExplainUsd(definition, routes, 'text-direction')).toBeCloseTo(
      (256 * 0.0006 * configs['text-direction']!.price.reserve_compute_ms) / 1000,
      12,
    );
    expect(taskExplainUsd(definition, routes, 'mlp-classifier')).toBe(0);
    expect(taskExplainUsd(definition, routes, 'vectors')).toBe(0);
    expect(taskExplainUsd(definition, routes, 'nope')).toBe(0);
    // A route: the dearest tier's, whichever answers is explained.
    expect(taskExplainUsd(definition, routes, 'either')).toBe(taskExplainUsd(definition, routes, 'text-direction'));
  });

  it("model steps are priced with their explanation, a transform's calls without", () => {
    const pipeline = pipelineConfigSchema.parse({
      name: 'p',
      inputs: { image: { kind: 'image' }, images: { kind: 'json' } },
      steps: [
        { id: 'one', model: 'explain-quadrant', inputs: { image: 'image' }, outputs: { probabilities: 'a' } },
        { id: 'each', model: 'explain-quadrant', map: true, inputs: { image: 'images' }, outputs: { probabilities: 'b' } },
      ],
      outputs: { a: 'a', b: 'b' },
    });
    const price = (): number => 1;
    const explained = (name: string, version?: string): number => price() + taskExplainUsd(definition, routes, name, version);
    const transforms = builtInTransforms({ maxAudioSeconds: 5 });
    const inputs = { image: new Uint8Array(1), images: [1, 2, 3] };
    expect(estimateTaskCostUsd(pipeline, inputs, transforms, price)).toBe(4);
    expect(estimateTaskCostUsd(pipeline, inputs, transforms, price, explained)).toBeCloseTo(4 + 4 * 64 * ROW_USD, 12);
  });
});
