import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ModelState } from '../../workers/pool/model-state.js';
import { ServingError } from '../../workers/protocol/errors.js';
import { shortPath } from '../auth/authenticate.js';
import { metadataHeaders } from '../metadata/response-metadata.js';
import { docs, json, MODEL_PARAM } from '../openapi/route-docs.js';
import type { RouteConfig } from '../policy/policy-config.js';
import { encodeV1Predictions, V1_PREDICT_ROUTES } from '../protocol/kserve-v1.js';
import { parseV1RequestOffThread } from '../protocol/parse-infer-off-thread.js';
import type { EncodedAnswer, InferFrontEnd } from '../request/infer-call.js';
import { modelReadiness } from '../request/model-queries.js';
import type { PipelineDeps } from '../request/pipeline-deps.js';
import { runInference } from '../request/run-inference.js';
import type { ServingBackend } from '../serving-backend.js';
import { admitHook, httpCall, sendOutcome, type InferParams } from './infer.js';
import { mayCall } from './models.js';

interface V1Params extends InferParams {
  /** `<model>:predict`, or `<version>:predict` after /versions/. */
  target: string;
}

const PREDICT = /^(.+):predict$/;

/** onRequest: the verb read off the path before any of the body is, and the model (and version) set as the OIP routes have them. */
function readTarget(request: FastifyRequest<{ Params: V1Params }>, _reply: FastifyReply, next: (error?: Error) => void): void {
  const params = request.params;
  const match = PREDICT.exec(params.target);
  if (!match)
    return next(new ServingError('route_not_found', `no endpoint ${request.method} ${shortPath(request.url)}: V1 serves :predict`));
  if (params.model === undefined) params.model = match[1]!;
  else params.version = match[1]!;
  next();
}

/** A V1 predict call's body and answer around the same request pipeline the OIP front ends run. */
function v1FrontEnd(request: FastifyRequest): InferFrontEnd {
  let batched = true;
  const body = (): Buffer => {
    const raw = request.body;
    if (!Buffer.isBuffer(raw) || raw.length === 0)
      throw new ServingError('empty_body', 'the request has no body: send {"instances": [...]} as JSON');
    const type = (request.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json')
      throw new ServingError('unsupported_media_type', `a predict body is JSON (application/json), not ${type}`);
    return raw;
  };
  return {
    readBody: async (definition) => {
      const bytes = body();
      batched = definition.config.max_batch_size > 0;
      // Its own namespace: a key used with an OIP body of the same bytes is not replayed here.
      return {
        parsed: await parseV1RequestOffThread(bytes, definition),
        fingerprint: () => `v1:${createHash('sha256').update(bytes).digest('hex')}`,
      };
    },
    reviewInput: () => ({ contentType: 'application/json', body: body() }),
    encode: ({ result, metadata, review }): EncodedAnswer => {
      const headers = metadataHeaders(metadata);
      if (review) Object.assign(headers, { 'x-review-id': review.id, 'x-review-status': review.status });
      headers['content-type'] = 'application/json';
      return { headers, body: encodeV1Predictions(result.outputs, batched) };
    },
  };
}

const PREDICTIONS = {
  type: 'object',
  required: ['predictions'],
  properties: { predictions: { type: 'array', description: 'A row per instance: the one output, or an object naming each output.' } },
} as const;
const V1_BODY = {
  type: 'object',
  description:
    '`instances`: a list of rows (the one input\'s value, or an object naming each input; BYTES as text or {"b64": ...}); or `inputs`: whole tensors by name.',
  properties: { instances: { type: 'array', minItems: 1 }, inputs: {} },
} as const;
const predictDocs = (versioned: boolean) =>
  docs({
    tag: 'inference',
    summary: versioned
      ? 'Predict with one version of a model (KServe V1)'
      : 'Predict with a model or a route (KServe V1 / TF Serving REST)',
    description: `POST ${versioned ? '/v1/models/{model}/versions/{version}:predict' : '/v1/models/{model}:predict'}: the same pipeline as OIP infer (keys, limits, budgets, routing, idempotency), rows in and out.`,
    errors: [
      'route_not_found',
      'invalid_json',
      'empty_body',
      'invalid_request',
      'unsupported_media_type',
      'datatype_mismatch',
      'shape_mismatch',
      'missing_input',
      'unknown_input',
      'batch_too_large',
      'json_output_too_large',
      'forbidden',
      'model_not_found',
      'version_not_found',
      'budget_exceeded',
      'model_not_ready',
      'queue_full',
      'request_timeout',
      'inference_failed',
    ],
    responses: { 200: { description: 'The predictions, a row per instance.', content: json(PREDICTIONS) } },
    handChecked: {
      params: {
        type: 'object',
        required: [versioned ? 'model' : 'target', ...(versioned ? ['target'] : [])],
        properties: {
          ...(versioned ? { model: MODEL_PARAM } : {}),
          target: { type: 'string', pattern: ':predict$', description: versioned ? '`{version}:predict`' : '`{model}:predict`' },
        },
      },
      body: { 'application/json': V1_BODY },
    },
  });

const MODEL_STATUS = {
  type: 'object',
  required: ['name', 'ready'],
  properties: { name: { type: 'string' }, ready: { type: 'boolean' } },
} as const;

/**
 * KServe's V1 data plane: `POST /v1/models/{model}[/versions/{version}]:predict`, `GET
 * /v1/models/{model}` (ready or not) and `GET /v1/models` (the models this key may call).
 */
export function predictV1Routes(app: FastifyInstance, deps: PipelineDeps, backend: ServingBackend, routes: readonly RouteConfig[]): void {
  const admit = admitHook(deps);
  const predict = async (request: FastifyRequest<{ Params: V1Params }>, reply: FastifyReply): Promise<unknown> =>
    sendOutcome(request, reply, await runInference(httpCall(request, reply), v1FrontEnd(request), deps));
  app.post<{ Params: V1Params }>(V1_PREDICT_ROUTES[0], { onRequest: [readTarget, admit], config: predictDocs(false) }, predict);
  app.post<{ Params: V1Params }>(V1_PREDICT_ROUTES[1], { onRequest: [readTarget, admit], config: predictDocs(true) }, predict);
  app.get<{ Params: { model: string } }>(
    '/v1/models/:model',
    {
      config: docs({
        tag: 'models',
        summary: 'Model readiness (KServe V1)',
        errors: ['forbidden', 'model_not_found'],
        responses: {
          200: { description: 'Ready.', content: json(MODEL_STATUS) },
          503: { description: 'Not ready.', content: json(MODEL_STATUS) },
        },
        handChecked: { params: { type: 'object', required: ['model'], properties: { model: MODEL_PARAM } } },
      }),
    },
    async (request, reply) => {
      const { name, ready } = modelReadiness(backend, routes, { tenant: request.tenant, name: request.params.model });
      return reply.code(ready ? 200 : 503).send({ name, ready });
    },
  );
  app.get(
    '/v1/models',
    {
      config: docs({
        tag: 'models',
        summary: 'The models this key may call (KServe V1)',
        responses: {
          200: {
            description: 'Their names.',
            content: json({ type: 'object', required: ['models'], properties: { models: { type: 'array', items: { type: 'string' } } } }),
          },
        },
      }),
    },
    // Each name a caller can call now, once: models with a version ready, and the routes it may use.
    async (request) => {
      const ready = (await backend.index()).filter((entry) => entry.state === ModelState.READY).map((entry) => entry.name);
      const names = new Set([...ready, ...routes.map((route) => route.name)]);
      return { models: [...names].filter((name) => mayCall(request.tenant, name)).sort() };
    },
  );
}
