import { baselineRow } from '../../gateway/explain/baselines.js';
import type { Baseline } from '../../gateway/explain/explain-options.js';
import { applyMask, elementGroups, patchGroups, type FeatureGroups } from '../../gateway/explain/feature-groups.js';
import { inputLayout } from '../../gateway/explain/input-layout.js';
import { seededRandom } from '../../gateway/explain/kernel-shap.js';
import type { TensorSpec } from '../../workers/repository/model-config.js';

/** One model's deletion check: how a model is asked, and how its inputs are explained. */
export interface FaithfulnessCase {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly model: string;
  readonly spec: TensorSpec;
  readonly output: string;
  readonly baseline: Baseline;
  /** Occlusion's patch (stride equal): none for a vector's ablation. */
  readonly patch?: number;
  readonly k: number;
}

export interface FaithfulnessResult {
  readonly inputs: number;
  readonly k: number;
  /** Mean |score change| when the k most attributed features (or patches) are set to the baseline. */
  readonly topKChange: number;
  /** The same for k features picked at random. */
  readonly randomKChange: number;
  /** Inputs where the top k changed the score more than the random k. */
  readonly topWins: number;
}

async function postJson(url: string, headers: Record<string, string>, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

const tensor = (spec: TensorSpec, rows: Float32Array[]) => ({
  name: spec.name,
  datatype: 'FP32',
  shape: [rows.length, ...spec.shape],
  data: rows.flatMap((row) => Array.from(row)),
});

/**
 * Explains each input, then scores it with its top-k attributed groups set to the baseline
 * and with k random groups set to it: a faithful explanation's top k matter more.
 */
export async function deletionCheck(check: FaithfulnessCase, inputs: readonly Float32Array[], seed = 1): Promise<FaithfulnessResult> {
  const layout = inputLayout(check.spec);
  const groups: FeatureGroups = check.patch && layout.image ? patchGroups(layout.image, check.patch, check.patch) : elementGroups(layout);
  const random = seededRandom(seed);
  const base = `${check.url}/v2/models/${check.model}`;
  const options = {
    baseline: check.baseline,
    ...(check.patch ? { method: 'occlusion', patch_size: check.patch, patch_stride: check.patch } : { method: 'ablation' }),
  };
  let top = 0;
  let rand = 0;
  let wins = 0;
  for (const row of inputs) {
    const answer = await postJson(`${base}/explain`, check.headers, {
      inputs: [tensor(check.spec, [row])],
      parameters: { explain: options },
    });
    const attribution = (answer.explanation as { attributions: { data: number[]; class: number; score: number }[] }).attributions[0]!;
    const ranked = attribution.data.map((value, index) => ({ value, index })).sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
    const chosen = ranked.slice(0, check.k).map((entry) => entry.index);
    const order = Int32Array.from({ length: groups.members.length }, (_, i) => i);
    for (let i = 0; i < check.k; i += 1) {
      const j = i + Math.floor(random() * (order.length - i));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const baseline = baselineRow(check.baseline, layout, row, 1);
    const masked = [chosen, Array.from(order.subarray(0, check.k))].map((off) => {
      const out = new Float32Array(row.length);
      applyMask(row, baseline, groups, off, out);
      return out;
    });
    const scored = await postJson(`${base}/infer`, check.headers, {
      inputs: [tensor(check.spec, masked)],
      outputs: [{ name: check.output }],
    });
    const data = (scored.outputs as { data: number[]; shape: number[] }[])[0]!;
    const width = data.shape[1]!;
    const topChange = Math.abs(attribution.score - data.data[attribution.class]!);
    const randomChange = Math.abs(attribution.score - data.data[width + attribution.class]!);
    top += topChange;
    rand += randomChange;
    if (topChange > randomChange) wins += 1;
  }
  return { inputs: inputs.length, k: check.k, topKChange: top / inputs.length, randomKChange: rand / inputs.length, topWins: wins };
}
