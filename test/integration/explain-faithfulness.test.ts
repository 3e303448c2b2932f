import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletionCheck } from '../../bench/explain/faithfulness.js';
import { textLinePng, textLineTensor } from '../../bench/explain/text-lines.js';
import type { RunningServer } from '../../gateway/server.js';
import { modelConfigSchema } from '../../workers/repository/model-config.js';
import { startTestGateway } from '../helpers/gateway.js';
import { mlpVector } from '../helpers/mlp-reference.js';
import { PROJECT_MODELS, TestRepository } from '../helpers/repository.js';

const repository = new TestRepository().copy('mlp-classifier').copy('text-direction');
let server: RunningServer;
const configOf = (name: string) => modelConfigSchema.parse(JSON.parse(readFileSync(join(PROJECT_MODELS, name, 'config.json'), 'utf8')));
const INPUTS = 50;

beforeAll(async () => {
  server = await startTestGateway(repository.dir);
}, 120_000);
afterAll(async () => {
  await server.close();
  repository.remove();
});

describe('explanations are faithful: deleting the top-k attributed features changes the score more than k random ones', () => {
  it('the shipped MLP, ablation over its 512 features, 50 inputs', async () => {
    const spec = configOf('mlp-classifier').inputs[0]!;
    const inputs = Array.from({ length: INPUTS }, (_, i) => Float32Array.from(mlpVector(i + 1)));
    const result = await deletionCheck(
      { url: server.url, headers: {}, model: 'mlp-classifier', spec, output: 'probabilities', baseline: 'zeros', k: 16 },
      inputs,
    );
    expect(result.inputs).toBe(INPUTS);
    expect(result.topKChange).toBeGreaterThan(result.randomKChange);
  }, 300_000);

  it('text-direction (a pretrained image model), occlusion with 12-pixel patches, 50 text lines', async () => {
    const spec = configOf('text-direction').inputs[0]!;
    const inputs = await Promise.all(Array.from({ length: INPUTS }, async (_, i) => textLineTensor(await textLinePng(i), spec.image!)));
    const result = await deletionCheck(
      { url: server.url, headers: {}, model: 'text-direction', spec, output: 'softmax_0.tmp_0', baseline: 'mean', patch: 12, k: 6 },
      inputs,
    );
    expect(result.inputs).toBe(INPUTS);
    expect(result.topKChange).toBeGreaterThan(result.randomKChange);
  }, 300_000);
});
