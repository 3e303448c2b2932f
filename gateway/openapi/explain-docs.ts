import { inferDocs } from './infer-docs.js';
import { docs, type RouteDocs } from './route-docs.js';

const PNG = {
  type: 'string',
  contentMediaType: 'image/png',
  description: 'With `Accept: image/png` or `explain.render`: heatmaps over the image inputs.',
} as const;

/**
 * `POST /v2/models/{model}[/versions/{version}]/explain`: the infer route's bodies and answers
 * (gateway/explain/ runs it through the same pipeline), plus `parameters.explain` and the
 * explanation in the answer, or a PNG heatmap.
 */
export const explainDocs = (versioned: boolean): { docs: RouteDocs } => {
  const infer = inferDocs(versioned).docs;
  const ok = infer.responses![200]!;
  return docs({
    ...infer,
    tag: 'inference',
    summary: versioned
      ? 'Explain one version of a model: the answer and the inputs that drove it'
      : 'Explain a model or a route: the answer and the inputs that drove it',
    description:
      `${infer.description} \`parameters.explain\`: { target, class, method: occlusion | ablation | kernel_shap, samples, baseline: zeros | mean | blur, ` +
      'patch, stride, render }. The answer is the inference answer plus `explanation` (per input: attributions, method, samples, score change); ' +
      'perturbed rows run below live traffic and are charged in X-Cost-USD (docs/explanations.md).',
    errors: [...(infer.errors ?? []), 'explain_unsupported', 'explain_too_many_rows'],
    responses: { 200: { ...ok, content: { ...ok.content, 'image/png': PNG } } },
  });
};
