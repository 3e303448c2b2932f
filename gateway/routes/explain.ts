import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { explainDocs } from '../openapi/explain-docs.js';
import { HEADER_LENGTH_HEADER } from '../protocol/binary-body.js';
import type { InferFrontEnd } from '../request/infer-call.js';
import type { PipelineDeps } from '../request/pipeline-deps.js';
import { runInference } from '../request/run-inference.js';
import { admitHook, encodeHttp, httpCall, httpFrontEnd, sendOutcome, type InferParams } from './infer.js';
import type { ExplainOptions } from '../explain/explain-options.js';
import { explainStage, type ExplainState } from '../explain/explain-stage.js';

/** `Accept: image/png` asks for the heatmap, as `parameters.explain.render` does. */
function acceptsPng(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => part.split(';')[0]!.trim().toLowerCase() === 'image/png');
}

/**
 * The infer front end with the explanation added: in the JSON answer (or as the PNG heatmap),
 * in the review item, and in the idempotency fingerprint (a key used for /infer is not replayed here).
 */
function explainFrontEnd(base: InferFrontEnd, state: ExplainState): InferFrontEnd {
  return {
    readBody: async (definition) => {
      const read = await base.readBody(definition);
      return { parsed: read.parsed, fingerprint: () => `explain:${read.fingerprint()}` };
    },
    reviewInput: () => {
      if (!state.explanation) return base.reviewInput();
      const heatmap = state.reviewHeatmap ? { heatmap_png: state.reviewHeatmap.toString('base64') } : {};
      return { ...base.reviewInput(), explanation: { ...state.explanation, ...heatmap } };
    },
    encode: (answer) => {
      const encoded = encodeHttp(answer, { explanation: state.explanation });
      if (!state.png) return encoded;
      const headers: Record<string, string> = { ...encoded.headers, 'content-type': 'image/png' };
      delete headers[HEADER_LENGTH_HEADER];
      return { headers, body: state.png };
    },
  };
}

/**
 * POST /v2/models/:name[/versions/:version]/explain: an inference (any body /infer takes, a
 * model or a route) whose answer also says which parts of the input drove it.
 */
export function explainRoutes(app: FastifyInstance, deps: PipelineDeps): void {
  const handler = async (request: FastifyRequest<{ Params: InferParams }>, reply: FastifyReply): Promise<unknown> => {
    const state: ExplainState = {};
    const png = acceptsPng(request.headers.accept);
    const stage = explainStage(state, (options: ExplainOptions) => options.render === true || png);
    return sendOutcome(
      request,
      reply,
      await runInference(httpCall(request, reply), explainFrontEnd(httpFrontEnd(request), state), deps, stage),
    );
  };
  const admit = admitHook(deps);
  app.post<{ Params: InferParams }>('/v2/models/:model/explain', { onRequest: admit, config: explainDocs(false) }, handler);
  app.post<{ Params: InferParams }>(
    '/v2/models/:model/versions/:version/explain',
    { onRequest: admit, config: explainDocs(true) },
    handler,
  );
}
