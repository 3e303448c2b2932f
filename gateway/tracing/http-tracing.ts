import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { activeTracer, childSpan, endWithError, type Span } from '../../workers/tracing/tracer.js';
import { traceparentOf } from '../http/trace-context.js';
import { finishRequestSpan, startRequestSpan } from './request-span.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The policy step (auth, rate limit) running in the request's hooks, as a span. */
    tracedStep: Span | undefined;
  }
}

/**
 * The HTTP request span (OTel's HTTP server conventions) with the authentication step opened.
 * Installed after the trace context and before authentication; with tracing off no hook is added.
 */
/** Probes and scrapes, every few seconds from every kubelet and Prometheus: no traces of their own. */
const UNTRACED = new Set(['/v2/health/live', '/v2/health/ready', '/metrics']);

export function traceHttpRequests(app: FastifyInstance): void {
  if (activeTracer() === undefined) return;
  app.decorateRequest('tracedStep', undefined);
  app.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url;
    if (route !== undefined && UNTRACED.has(route)) return done();
    const before = request.trace;
    request.trace = startRequestSpan(before, route === undefined ? request.method : `${request.method} ${route}`);
    if (request.trace !== before) reply.header('traceparent', traceparentOf(request.trace));
    const span = request.trace.span;
    if (span === undefined) return done();
    // Attributes only for sampled requests: the others pay for no object.
    span.setAttributes({
      'http.request.method': request.method,
      'url.path': request.url.split('?', 1)[0]!,
      'url.scheme': request.protocol,
      ...(route !== undefined ? { 'http.route': route } : {}),
    });
    request.tracedStep = childSpan(span, 'auth');
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const span = request.trace.span;
    if (span === undefined) return done();
    endStep(request, reply);
    const status = reply.statusCode;
    finishRequestSpan(
      span,
      { requestId: request.id, tenant: request.tenant?.name, audit: request.audit, code: request.errorCode },
      { 'http.response.status_code': status },
      status >= 500,
    );
    done();
  });
}

function endStep(request: FastifyRequest, reply: FastifyReply): void {
  const step = request.tracedStep;
  if (step === undefined) return;
  request.tracedStep = undefined;
  if (reply.statusCode < 400) step.end();
  else endWithError(step, { code: request.errorCode, message: request.errorCode });
}

/** Installed after authentication: a request that got past it closes its auth step. */
export function traceAfterAuthentication(app: FastifyInstance): void {
  if (activeTracer() === undefined) return;
  app.addHook('onRequest', (request, _reply, done) => {
    request.tracedStep?.end();
    request.tracedStep = undefined;
    done();
  });
}

/** The tenant rate limit's hook, between two of these, as a `rate limit` step. */
export function traceRateLimit(api: FastifyInstance, install: () => void): void {
  if (activeTracer() === undefined) {
    install();
    return;
  }
  api.addHook('onRequest', (request, _reply, done) => {
    request.tracedStep = childSpan(
      request.trace.span,
      'rate limit',
      request.tenant ? { 'switchyard.tenant': request.tenant.name } : undefined,
    );
    done();
  });
  install();
  api.addHook('onRequest', (request, _reply, done) => {
    request.tracedStep?.end();
    request.tracedStep = undefined;
    done();
  });
}
