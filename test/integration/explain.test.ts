import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../gateway/server.js';
import { LINEAR_FEATURES } from '../../models/build/explain-demos.js';
import { EXPLAIN_KEYS, explainFixture, noiseImage, topK, vector } from '../helpers/explain-fixture.js';
import { get, post, startTestGateway } from '../helpers/gateway.js';
import { bearer } from '../helpers/policy-fixture.js';

interface Attribution {
  input: string;
  row: number;
  method: string;
  baseline: string;
  class: number;
  score: number;
  meaning: string;
  baseline_score?: number;
  shape: number[];
  data: number[];
  samples: number;
}
interface Explanation {
  target: string;
  rows_used: number;
  model_calls: number;
  cost_usd: string;
  attributions: Attribution[];
}

const fixture = explainFixture();
let server: RunningServer;
const acme = bearer(EXPLAIN_KEYS.acme);
const explain = (model: string, body: unknown, headers: Record<string, string> = {}) =>
  post(`${server.url}/v2/models/${model}/explain`, body, { ...acme, ...headers });
const linearBody = (seed: number, explainOptions: Record<string, unknown> = {}, rows = 1) => ({
  inputs: [
    { name: 'features', datatype: 'FP32', shape: [rows, 64], data: Array.from({ length: rows }, (_, r) => vector(seed + r, 64)).flat() },
  ],
  parameters: { explain: explainOptions },
});
const WEIGHTED = Object.keys(LINEAR_FEATURES)
  .map(Number)
  .sort((a, b) => a - b);

beforeAll(async () => {
  server = await startTestGateway(fixture.repository.dir, fixture.env);
}, 120_000);
afterAll(async () => {
  await server.close();
  fixture.repository.remove();
});

describe('explanations of the demo models', () => {
  it('ablation ranks the five weighted features of the linear model first, each at w·x', async () => {
    const x = vector(1, 64);
    const reply = await explain('explain-linear', linearBody(1));
    expect(reply.status).toBe(200);
    expect(reply.json.outputs).toHaveLength(1);
    const explanation = reply.json.explanation as Explanation;
    expect(explanation).toMatchObject({ target: 'score', rows_used: 64 });
    // Batches of at most 16 rows, sized by the pacer.
    expect(explanation.model_calls).toBeGreaterThanOrEqual(4);
    expect(explanation.model_calls).toBeLessThanOrEqual(64);
    const [attribution] = explanation.attributions;
    expect(attribution).toMatchObject({
      input: 'features',
      row: 0,
      method: 'ablation',
      baseline: 'zeros',
      class: 0,
      meaning: 'score_drop',
      shape: [64],
      samples: 64,
    });
    expect(topK(attribution!.data, 5).sort((a, b) => a - b)).toEqual(WEIGHTED);
    for (const [index, weight] of Object.entries(LINEAR_FEATURES))
      expect(attribution!.data[Number(index)]).toBeCloseTo(weight * x[Number(index)]!, 4);
    // The live call and the 64 rows are both in X-Cost-USD.
    const cost = Number(reply.headers.get('x-cost-usd'));
    expect(cost).toBeGreaterThan(Number(explanation.cost_usd));
    expect(Number(explanation.cost_usd)).toBeGreaterThan(0);
  });

  it("KernelSHAP recovers the linear model's Shapley values (w·x against a zero baseline)", async () => {
    const x = vector(2, 64);
    const reply = await explain('explain-linear', linearBody(2, { method: 'kernel_shap', samples: 200, seed: 7 }));
    expect(reply.status).toBe(200);
    const [attribution] = (reply.json.explanation as Explanation).attributions;
    expect(attribution).toMatchObject({ method: 'kernel_shap', meaning: 'shapley', samples: 201, shape: [64] });
    expect(topK(attribution!.data, 5).sort((a, b) => a - b)).toEqual(WEIGHTED);
    const sum = attribution!.data.reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(attribution!.score - attribution!.baseline_score!, 4);
    for (const [index, weight] of Object.entries(LINEAR_FEATURES))
      expect(attribution!.data[Number(index)]).toBeCloseTo(weight * x[Number(index)]!, 2);
  });

  it('explains every row of a batch, each against its own top class', async () => {
    const reply = await explain('explain-linear', linearBody(3, {}, 3));
    expect(reply.status).toBe(200);
    const explanation = reply.json.explanation as Explanation;
    expect(explanation.attributions.map((a) => a.row)).toEqual([0, 1, 2]);
    expect(explanation.rows_used).toBe(192);
    for (const attribution of explanation.attributions) expect(topK(attribution.data, 5).sort((a, b) => a - b)).toEqual(WEIGHTED);
  });

  it("occlusion over a raw PNG body puts the top-left quadrant's patches first", async () => {
    for (const seed of [1, 2, 3]) {
      const reply = await explain('explain-quadrant', await noiseImage(seed), { 'content-type': 'image/png' });
      expect(reply.status).toBe(200);
      const [attribution] = (reply.json.explanation as Explanation).attributions;
      expect(attribution).toMatchObject({ method: 'occlusion', baseline: 'mean', shape: [8, 8], samples: 64 });
      // A 4-pixel patch grid: the quadrant is grid rows and columns 0-3, 16 patches.
      const inQuadrant = (index: number): boolean => Math.floor(index / 8) < 4 && index % 8 < 4;
      expect(topK(attribution!.data, 16).every(inQuadrant)).toBe(true);
      expect(attribution!.data.filter((_, index) => !inQuadrant(index)).every((value) => value === 0)).toBe(true);
    }
  });

  it('answers Accept: image/png with the heatmap over the input, and render: true the same', async () => {
    const image = await noiseImage(4);
    const response = await fetch(`${server.url}/v2/models/explain-quadrant/explain`, {
      method: 'POST',
      headers: { ...acme, 'content-type': 'image/png', accept: 'image/png' },
      body: image,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Number(response.headers.get('x-cost-usd'))).toBeGreaterThan(0);
    const png = Buffer.from(await response.arrayBuffer());
    const meta = await sharp(png).metadata();
    expect(meta).toMatchObject({ format: 'png', width: 256, height: 256 });
    // Red (the quadrant that drives the score) sits top-left, none bottom-right.
    const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const redness = (x0: number, y0: number): number => {
      let sum = 0;
      for (let y = y0; y < y0 + 128; y += 1)
        for (let x = x0; x < x0 + 128; x += 1) sum += Math.abs(data[(y * 256 + x) * 3]! - data[(y * 256 + x) * 3 + 1]!);
      return sum;
    };
    expect(redness(0, 0)).toBeGreaterThan(redness(128, 128) * 2);

    const pixels = await sharp(image).raw().toBuffer();
    const planes = Array.from({ length: 3 * 32 * 32 }, (_, i) => pixels[(i % 1024) * 3 + Math.floor(i / 1024)]! / 255);
    const body = {
      inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 3, 32, 32], data: planes }],
      parameters: { explain: { render: true } },
    };
    const json = await fetch(`${server.url}/v2/models/explain-quadrant/explain`, {
      method: 'POST',
      headers: { ...acme, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toBe('image/png');
  });

  it('explains a route by the tier that answered, and keeps a JSON answer for FP32 images', async () => {
    const reply = await explain('linear-route', linearBody(5));
    expect(reply.status).toBe(200);
    expect(reply.headers.get('x-route')).toBe('linear-route');
    expect((reply.json.explanation as Explanation).attributions[0]!.data).toHaveLength(64);
  });
});

describe('what cannot be explained is a 400 with a stable code', () => {
  const refused = async (model: string, body: unknown, code: string, headers: Record<string, string> = {}): Promise<void> => {
    const reply = await explain(model, body, headers);
    expect({ status: reply.status, code: (reply.json.error as { code: string } | undefined)?.code ?? reply.json.code }).toEqual({
      status: 400,
      code,
    });
  };
  it('refuses methods, baselines and renders that do not fit the input kind', async () => {
    await refused('explain-linear', linearBody(1, { method: 'occlusion' }), 'explain_unsupported');
    await refused('explain-linear', linearBody(1, { baseline: 'blur' }), 'explain_unsupported');
    await refused('explain-linear', linearBody(1, { patch_size: 4 }), 'explain_unsupported');
    await refused('explain-linear', linearBody(1, { render: true }), 'explain_unsupported');
    await refused('explain-linear', linearBody(1), 'explain_unsupported', { accept: 'image/png' });
    await refused(
      'explain-quadrant',
      {
        inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 3, 32, 32], data: new Array(3072).fill(0.5) }],
        parameters: { explain: { method: 'kernel_shap', patch_size: 1 } },
      },
      'explain_unsupported',
    );
  });
  it('refuses more rows than max_explain_rows before anything runs', async () => {
    await refused('explain-linear', linearBody(1, { method: 'kernel_shap', samples: 5000 }), 'explain_too_many_rows');
    await refused('explain-linear', linearBody(1, { method: 'kernel_shap', samples: 100 }, 64), 'explain_too_many_rows');
  });
  it('answers hostile bodies and names like /infer does', async () => {
    const empty = await fetch(`${server.url}/v2/models/explain-linear/explain`, {
      method: 'POST',
      headers: { ...acme, 'content-type': 'application/json' },
    });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('empty_body');
    expect((await explain('no-such-model', linearBody(1))).status).toBe(404);
    expect((await explain('explain-linear', '{"inputs": [', {})).status).toBe(400);
    await refused(
      'explain-linear',
      { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 63], data: new Array(63).fill(1) }] },
      'shape_mismatch',
    );
    await refused('explain-linear', { ...linearBody(1), parameters: { explain: 'everything' } }, 'invalid_parameter');
    // A corrupt image is refused by the live call before any perturbed row runs.
    await refused('explain-quadrant', Buffer.from('not a png'), 'invalid_media', { 'content-type': 'image/png' });
  });

  it('refuses malformed options by name', async () => {
    const reply = await explain('explain-linear', linearBody(1, { method: 'lime' }));
    expect(reply.status).toBe(400);
    expect(JSON.stringify(reply.json)).toContain('invalid_parameter');
    expect(JSON.stringify(reply.json)).toContain('parameters.explain.method');
    await refused('explain-linear', linearBody(1, { class: 3 }), 'invalid_parameter');
    await refused('explain-linear', linearBody(1, { target: 'nope' }), 'unknown_output');
    await refused('explain-linear', linearBody(1, { samples: 'many' }), 'invalid_parameter');
  });
});

describe('cost, budget and review', () => {
  it("refuses an explanation its tenant's budget cannot cover before the live call runs", async () => {
    const thrifty = bearer(EXPLAIN_KEYS.thrifty);
    const before = await get(`${server.url}/v1/spend?tenant=thrifty`, bearer(EXPLAIN_KEYS.ops));
    // 64 rows held at reserve_compute_ms 5: 0.000192 USD, over the 0.00002 budget; a plain infer fits.
    const reply = await post(`${server.url}/v2/models/explain-linear/explain`, linearBody(1), thrifty);
    expect(reply.status).toBe(429);
    expect(JSON.stringify(reply.json)).toContain('budget_exceeded');
    const after = await get(`${server.url}/v1/spend?tenant=thrifty`, bearer(EXPLAIN_KEYS.ops));
    expect(after.json).toEqual(before.json);
    const infer = await post(`${server.url}/v2/models/explain-linear/infer`, { inputs: linearBody(1).inputs }, thrifty);
    expect(infer.status).toBe(200);
  });

  it('files the explanation with the review item of a route whose review asks for it', async () => {
    const reply = await explain('quadrant-reviewed', await noiseImage(9), { 'content-type': 'image/png' });
    expect(reply.status).toBe(200);
    const id = reply.headers.get('x-review-id');
    expect(id).toBeTruthy();
    const item = await get(`${server.url}/v1/reviews/${id}`, bearer(EXPLAIN_KEYS.ops));
    expect(item.status).toBe(200);
    expect((item.json.explanation as Explanation).attributions[0]).toMatchObject({ input: 'image', method: 'occlusion', shape: [8, 8] });
    const { heatmap_png: heatmap, ...kept } = item.json.explanation as Explanation & { heatmap_png: string };
    expect(kept).toEqual(reply.json.explanation);
    // The console draws this next to the item.
    expect(await sharp(Buffer.from(heatmap, 'base64')).metadata()).toMatchObject({ format: 'png', width: 64, height: 64 });
  });

  it('does not replay an /infer answer for an /explain call with the same Idempotency-Key', async () => {
    const headers = { 'idempotency-key': 'explain-key-1' };
    const first = await post(`${server.url}/v2/models/explain-linear/infer`, linearBody(11), { ...acme, ...headers });
    expect(first.status).toBe(200);
    const second = await explain('explain-linear', linearBody(11), headers);
    expect(second.status).toBe(422);
  });
});

describe('tasks', () => {
  it('"explain": true attaches an explanation to each image classification step, charged to the task', async () => {
    const image = (await noiseImage(12)).toString('base64');
    const plain = await post(`${server.url}/v1/tasks/quadrant-check`, { inputs: { image } }, acme);
    const explained = await post(`${server.url}/v1/tasks/quadrant-check`, { inputs: { image }, explain: true }, acme);
    expect([plain.status, explained.status]).toEqual([200, 200]);
    type Step = { step: string; explanations?: Explanation[] };
    const steps = (task: typeof plain) => task.json.result as { steps: Step[]; cost_usd: number };
    expect(steps(plain).steps[0]!.explanations).toBeUndefined();
    const [explanation] = steps(explained).steps[0]!.explanations!;
    expect(explanation!.attributions[0]).toMatchObject({ input: 'image', method: 'occlusion', shape: [8, 8] });
    const inQuadrant = (index: number): boolean => Math.floor(index / 8) < 4 && index % 8 < 4;
    expect(topK(explanation!.attributions[0]!.data, 16).every(inQuadrant)).toBe(true);
    // The task's cost (what its tenant was charged) includes the explanation's rows.
    expect(explained.json.cost_usd as number).toBeGreaterThan(plain.json.cost_usd as number);
    expect(Number(explanation!.cost_usd)).toBeGreaterThan(0);
    const refused = await post(`${server.url}/v1/tasks/quadrant-check`, { inputs: { image }, explain: 'yes' }, acme);
    expect(refused.status).toBe(400);
  });
});
