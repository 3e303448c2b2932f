import { describe, expect, it } from 'vitest';
import { checkStepOverrides } from '../../gateway/pipelines/check-step-overrides.js';
import { pipelineConfigSchema, type PipelineConfig } from '../../gateway/pipelines/pipeline-config.js';
import { builtInTransforms } from '../../gateway/pipelines/transforms/built-in.js';

const moderation = {
  name: 'moderation',
  inputs: { image: { kind: 'image' } },
  steps: [
    { id: 'classify', model: 'image-safety', inputs: { input_1: 'image' }, outputs: { dense_3: 'probabilities' } },
    {
      id: 'decide',
      transform: 'moderation.decide',
      inputs: { scores: 'probabilities' },
      outputs: { scores: 'scores', decision: 'decision', reasons: 'reasons' },
    },
  ],
  outputs: { decision: 'decision', scores: 'scores' },
};

describe('review_when and per-tenant step options', () => {
  it('accepts review_when on one of the outputs and refuses it on anything else', () => {
    expect(pipelineConfigSchema.parse({ ...moderation, review_when: { output: 'decision', equals: ['review'] } }).review_when).toEqual({
      output: 'decision',
      equals: ['review'],
    });
    expect(() => pipelineConfigSchema.parse({ ...moderation, review_when: { output: 'reasons', equals: ['review'] } })).toThrow(
      /not one of the outputs/,
    );
    expect(() => pipelineConfigSchema.parse({ ...moderation, review_when: { output: 'decision', equals: [] } })).toThrow();
  });

  it('fails startup on overrides naming no pipeline, a model step, or options the transform refuses', () => {
    const pipelines = new Map<string, PipelineConfig>([['moderation', pipelineConfigSchema.parse(moderation)]]);
    const transforms = builtInTransforms();
    const tenant = (pipeline_options: Record<string, Record<string, Record<string, unknown>>>) => [{ name: 't', pipeline_options }];
    expect(() => checkStepOverrides(pipelines, transforms, tenant({ moderation: { decide: { review: { neutral: 0.5 } } } }))).not.toThrow();
    expect(() => checkStepOverrides(pipelines, transforms, tenant({ ocr: { decide: {} } }))).toThrow(/pipeline "ocr", which is not loaded/);
    expect(() => checkStepOverrides(pipelines, transforms, tenant({ moderation: { classify: {} } }))).toThrow(
      /no transform step "classify"/,
    );
    expect(() => checkStepOverrides(pipelines, transforms, tenant({ moderation: { decide: { review: { nudity: 0.5 } } } }))).toThrow(
      /moderation\/decide: threshold for "nudity"/,
    );
    expect(() => checkStepOverrides(pipelines, transforms, tenant({ moderation: { decide: { block: { porn: 2 } } } }))).toThrow(
      /moderation\/decide/,
    );
  });
});
