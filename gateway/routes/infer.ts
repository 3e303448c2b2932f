import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ServingError } from '../../workers/protocol/errors.js';
import type { AuditDetails } from '../audit/audit-hook.js';
import { assertMayCall } from '../auth/authorize.js';
import { BudgetAccount, budgetLimit } from '../budget/budget-account.js';
import { idempotencyScope, readIdempotencyKey } from '../idempotency/idempotency-key.js';
import type { StoredResponse } from '../idempotency/idempotency-store.js';
import { responseMetadata, setMetadataHeaders } from '../metadata/response-metadata.js';
import { modelCallServices, type PolicyServices } from '../wiring/policy-services.js';
import { HEADER_LENGTH_HEADER } from '../protocol/binary-body.js';
import { readInferBody } from '../protocol/read-infer-body.js';
import { fileForReview, reviewRequested } from '../review/review-on-infer.js';
import { clientRequestId } from '../http/request-id.js';
import { traceparentOf } from '../http/trace-context.js';
import { encodeInferResponse } from '../protocol/encode-infer-response.js';
import { planInference } from '../routing/plan-inference.js';
import { resolveModel } from '../routing/resolve-model.js';
import { runModelCall } from '../routing/model-call.js';
import { mirrorToShadow } from '../routing/run-plan.js';
import type { ServingBackend } from '../serving-backend.js';
import type { Lifecycle } from './health.js';

interface InferParams {
  model: string;
  version?: string;
}

/** The answer's own headers; this request's rate-limit headers are not the stored request's. */
const REPLAYED_HEADERS = /^(content-type|inference-header-content-length|x-(?!ratelimit-).*)$/;

/**
 * POST /v2/models/:name[/versions/:version]/infer, where :name is a model or a route.
 * The path of one request: auth and rate limit (hooks) → parse → plan (route, tiers,
 * validation) → idempotency → budget reservation → run (breakers, cascade) → settle,
 * ledger, replay record → response; the audit record is written last.
 */
export function inferRoutes(app: FastifyInstance, backend: ServingBackend, lifecycle: Lifecycle, services: PolicyServices): void {
  const handler = async (request: FastifyRequest<{ Params: InferParams }>, reply: FastifyReply): Promise<unknown> => {
    const tenant = assertMayCall(request.tenant, request.params.model);
    const audit: AuditDetails = { route: request.params.model };
    request.audit = audit;
    const idempotencyKey = readIdempotencyKey(request.headers['idempotency-key']);
    if (idempotencyKey !== undefined) audit.idempotencyKey = idempotencyKey;

    // Unknown names are a 404 before the body is even parsed.
    const route = services.policy.routes.find((candidate) => candidate.name === request.params.model);
    const target = route ? resolveModel(backend, route.tiers[0]!.model, route.tiers[0]!.version) : resolveModel(backend, request.params.model, request.params.version);
    const { parsed, fingerprint } = await readInferBody(request, target.definition);
    const reviewAsked = reviewRequested(request.headers['x-review'], route, request.params.model);
    const tierHeader = request.headers['x-tier'];
    const plan = planInference(request.params.model, request.params.version, parsed, {
      backend,
      routes: services.policy.routes,
      requestId: request.id,
      now: Date.now(),
      traceparent: traceparentOf(request.trace),
      plan: tenant.plan,
      random: Math.random,
      ...(typeof tierHeader === 'string' ? { requestedTier: tierHeader } : {}),
    });

    // Idempotency: claimed only now that the request is valid; replays cost nothing.
    let claim: { scope: string; token: string } | undefined;
    if (idempotencyKey !== undefined) {
      const scope = idempotencyScope(tenant.name, plan.route, idempotencyKey);
      const begun = await services.idempotency.begin(scope, fingerprint(), services.policy.idempotency.retention_hours * 3_600_000);
      if (begun.kind === 'replay') {
        audit.replayed = true;
        return replay(reply, begun.response, request.id, clientRequestId(request.headers));
      }
      if (begun.kind === 'in-progress') throw new ServingError('idempotency_in_progress', 'a request with this Idempotency-Key is still running');
      if (begun.kind === 'mismatch') throw new ServingError('idempotency_key_reused', 'this Idempotency-Key was used with a different request body');
      claim = { scope, token: begun.token };
    }

    try {
      const limit = budgetLimit(tenant);
      const payer = { tenant: tenant.name, ...(limit ? { budget: new BudgetAccount(services.budgets, limit) } : {}) };
      const onLedgerError = (error: unknown): void => request.log.error({ err: error }, 'ledger write failed');
      const outcome = await runModelCall(plan, modelCallServices(services, backend, onLedgerError), payer);
      mirrorToShadow(plan, outcome, backend, services.shadow, Math.random, (error) => request.log.warn({ err: error, route: plan.route }, 'shadow request failed'));

      const { result, served } = outcome;
      Object.assign(audit, { model: result.model, version: result.version, tier: served.tier, escalated: outcome.escalated, costUsd: outcome.costUsd, queueMs: result.timings.queueMs, computeMs: result.timings.computeMs });
      const ids = { requestId: request.id, clientRequestId: clientRequestId(request.headers) };
      const metadata = responseMetadata(ids, result, served.model.definition.config.price, served.request.rows, {
        route: plan.route,
        tier: served.tier,
        escalated: outcome.escalated,
        costUsd: outcome.costUsd,
      }, reply.elapsedTime);
      setMetadataHeaders(reply, metadata);
      const review = route ? await fileForReview(request, route, outcome, reviewAsked, { store: services.reviews, policy: services.policy, tenant: tenant.name }) : undefined;
      if (review) {
        audit.reviewId = review.id;
        reply.header('x-review-id', review.id).header('x-review-status', review.status);
      }
      const encoded = encodeInferResponse(
        { model_name: result.model, model_version: result.version, ...(parsed.id !== undefined ? { id: parsed.id } : {}), parameters: review ? { ...metadata, review } : metadata },
        result.outputs,
        parsed.outputs,
        parsed.binaryByDefault,
      );
      if (encoded.headerLength !== undefined) reply.header(HEADER_LENGTH_HEADER, String(encoded.headerLength));
      reply.type(encoded.headerLength !== undefined ? 'application/octet-stream' : 'application/json');
      if (claim) {
        await services.idempotency.complete(claim.scope, claim.token, stored(200, reply, encoded.body), services.policy.idempotency.retention_hours * 3_600_000);
      }
      return reply.send(encoded.body);
    } catch (error) {
      // A rejection before execution or a 5xx leaves the key free for a retry.
      if (claim) await services.idempotency.abandon(claim.scope, claim.token).catch(() => undefined);
      throw error;
    }
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

function stored(status: number, reply: FastifyReply, body: string | Buffer): StoredResponse {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (REPLAYED_HEADERS.test(name) && value !== undefined) headers[name] = String(value);
  }
  return { status, headers, body: Buffer.from(body).toString('base64') };
}

function replay(reply: FastifyReply, response: StoredResponse, requestId: string, clientId: string | undefined): FastifyReply {
  reply.code(response.status).headers(response.headers).header('x-request-id', requestId).header('idempotent-replayed', 'true');
  // The stored answer's caller id is the first caller's; this one's (or none) replaces it.
  reply.removeHeader('x-client-request-id');
  if (clientId !== undefined) reply.header('x-client-request-id', clientId);
  return reply.send(Buffer.from(response.body, 'base64'));
}
