import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { closeSignal } from '../http/close-signal.js';
import { MultipartBody } from '../http/multipart-body.js';
import { clientRequestId } from '../http/request-id.js';
import { metadataHeaders } from '../metadata/response-metadata.js';
import { BodyParts, HEADER_LENGTH_HEADER } from '../protocol/binary-body.js';
import { encodeInferResponse } from '../protocol/encode-infer-response.js';
import { rawInferBody, readInferBody } from '../protocol/read-infer-body.js';
import { httpAnswerTemplate } from '../request/answer-template.js';
import { admitInference } from '../request/admit-call.js';
import type { EncodedAnswer, InferCall, InferFrontEnd, InferOutcome } from '../request/infer-call.js';
import type { PipelineDeps } from '../request/pipeline-deps.js';
import { runInference } from '../request/run-inference.js';
import { inferDocs } from '../openapi/infer-docs.js';

export interface InferParams {
  model: string;
  version?: string;
}

/** The answer's headers as the HTTP front end encodes them: the metadata, the review mark, the body's type. */
export function encodeHttp(answer: Parameters<InferFrontEnd['encode']>[0], extra: object = {}): EncodedAnswer {
  const { parsed, result, metadata, review } = answer;
  const headers = metadataHeaders(metadata);
  if (review) Object.assign(headers, { 'x-review-id': review.id, 'x-review-status': review.status });
  const encoded = encodeInferResponse(
    {
      model_name: result.model,
      model_version: result.version,
      ...(parsed.id !== undefined ? { id: parsed.id } : {}),
      parameters: review ? { ...metadata, review } : metadata,
      ...extra,
    },
    result.outputs,
    parsed.outputs,
    parsed.binaryByDefault,
  );
  if (encoded.headerLength !== undefined) headers[HEADER_LENGTH_HEADER] = String(encoded.headerLength);
  headers['content-type'] = encoded.headerLength !== undefined ? 'application/octet-stream' : 'application/json';
  return { headers, body: encoded.body };
}

export function httpFrontEnd(request: FastifyRequest): InferFrontEnd {
  return {
    readBody: (definition) => readInferBody(request, definition),
    reviewInput: () => ({
      contentType: (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase(),
      body: request.body instanceof MultipartBody ? request.body.files.map((file) => file.data) : (request.body as Buffer),
    }),
    encode: encodeHttp,
    raw: { body: () => rawInferBody(request), template: httpAnswerTemplate },
  };
}

/** The pipeline's view of one HTTP call (shared with the explain route). */
export function httpCall(request: FastifyRequest<{ Params: InferParams }>, reply: FastifyReply): InferCall {
  const audit = {};
  request.audit = audit;
  return {
    requestId: request.id,
    clientRequestId: clientRequestId(request.headers),
    arrivedAt: performance.now() - reply.elapsedTime,
    tenant: request.tenant,
    trace: request.trace,
    name: request.params.model,
    ...(request.params.version !== undefined ? { version: request.params.version } : {}),
    headers: { idempotencyKey: request.headers['idempotency-key'], tier: request.headers['x-tier'], review: request.headers['x-review'] },
    log: request.log,
    audit,
    cancel: closeSignal(reply),
  };
}

/** Sends a pipeline outcome. */
export function sendOutcome(request: FastifyRequest, reply: FastifyReply, { replayed, answer }: InferOutcome): FastifyReply {
  reply.headers(answer.headers);
  if (replayed) reply.header('x-request-id', request.id).header('idempotent-replayed', 'true');
  const { body } = answer;
  if (!(body instanceof BodyParts)) return reply.send(body);
  return reply.header('content-length', body.byteLength).send(body.stream());
}

/** onRequest: checked when the headers arrive, before the body is read. */
export function admitHook(deps: PipelineDeps) {
  return (_request: FastifyRequest, _reply: FastifyReply, next: (error?: Error) => void): void => {
    try {
      admitInference(deps);
    } catch (error) {
      return next(error as Error);
    }
    next();
  };
}

/**
 * POST /v2/models/:name[/versions/:version]/infer, where :name is a model or a route: HTTP
 * in and out around the request pipeline (gateway/request/), which the gRPC front end runs too.
 */
export function inferRoutes(app: FastifyInstance, deps: PipelineDeps): void {
  const handler = async (request: FastifyRequest<{ Params: InferParams }>, reply: FastifyReply): Promise<unknown> =>
    sendOutcome(request, reply, await runInference(httpCall(request, reply), httpFrontEnd(request), deps));
  const admit = admitHook(deps);
  app.post<{ Params: InferParams }>('/v2/models/:model/infer', { onRequest: admit, config: inferDocs(false) }, handler);
  app.post<{ Params: InferParams }>('/v2/models/:model/versions/:version/infer', { onRequest: admit, config: inferDocs(true) }, handler);
}
