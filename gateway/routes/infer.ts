import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import { HEADER_LENGTH_HEADER, splitBinaryBody } from '../protocol/binary-body.js';
import { encodeInferResponse } from '../protocol/encode-infer-response.js';
import { parseInferRequest } from '../protocol/parse-infer-request.js';
import { responseMetadata, setMetadataHeaders } from '../metadata/response-metadata.js';
import { resolveModel } from '../routing/resolve-model.js';
import { validateRequest } from '../routing/validate-request.js';
import type { ServingBackend } from '../serving-backend.js';
import type { Lifecycle } from './health.js';

interface InferParams {
  model: string;
  version?: string;
}

/** POST /v2/models/:model[/versions/:version]/infer: the path of one request, top to bottom. */
export function inferRoutes(app: FastifyInstance, backend: ServingBackend, lifecycle: Lifecycle): void {
  const handler = async (request: FastifyRequest<{ Params: InferParams }>, reply: FastifyReply): Promise<unknown> => {
    const model = resolveModel(backend, request.params.model, request.params.version);
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.length === 0) throw new ServingError('empty_body', 'the request has no body: send an inference request as JSON');

    const headerLength = request.headers[HEADER_LENGTH_HEADER];
    const { header, binary } = splitBinaryBody(body, Array.isArray(headerLength) ? headerLength[0] : headerLength);
    const parsed = parseInferRequest(header, binary);
    const valid = validateRequest(parsed, model, { requestId: request.id, now: Date.now() });

    const result = await backend.infer(valid);

    const metadata = responseMetadata(request.id, result, model.definition.config.price, valid.rows);
    setMetadataHeaders(reply, metadata);
    const encoded = encodeInferResponse(
      {
        model_name: result.model,
        model_version: result.version,
        ...(parsed.id !== undefined ? { id: parsed.id } : {}),
        parameters: metadata,
      },
      result.outputs,
      parsed.outputs,
      parsed.binaryByDefault,
    );
    if (encoded.headerLength !== undefined) {
      reply.header(HEADER_LENGTH_HEADER, String(encoded.headerLength));
      reply.type('application/octet-stream');
    } else {
      reply.type('application/json');
    }
    return reply.send(encoded.body);
  };
  // Checked when the headers arrive, before the body is read: a request that arrived
  // before draining began is answered, one that arrives after is refused.
  const admit = (_request: FastifyRequest, _reply: FastifyReply, next: (error?: Error) => void): void => {
    const phase = lifecycle.phase();
    if (phase === 'starting') return next(new ServingError('model_not_ready', 'the server is starting: models are loading'));
    if (phase === 'draining') return next(new ServingError('shutting_down', 'the server is shutting down'));
    next();
  };
  app.post<{ Params: InferParams }>('/v2/models/:model/infer', { onRequest: admit }, handler);
  app.post<{ Params: InferParams }>('/v2/models/:model/versions/:version/infer', { onRequest: admit }, handler);
}
