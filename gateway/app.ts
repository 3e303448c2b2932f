import { reviewExplainer } from './explain/review-explain.js';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { installBodyParsers } from './http/body-parsers.js';
import { installCompression } from './http/compression.js';
import { installRequestDecoding } from './http/request-encoding.js';
import { installHeldBodies } from './http/held-bodies.js';
import type { BodyMemory } from './limits/body-memory.js';
import { installMultipartParser } from './http/multipart-body.js';
import { clientErrorReply, frameworkErrorReply, installErrorReplies } from './http/error-reply.js';
import { installNodeRefusals } from './http/node-refusals.js';
import type { InFlightRequests } from './http/in-flight.js';
import { requestIdFor } from './http/request-id.js';
import { logRequest } from './http/request-log.js';
import { installResponseObservers } from './http/response-observers.js';
import { installTraceContext } from './http/trace-context.js';
import { traceAfterAuthentication, traceHttpRequests, traceRateLimit } from './tracing/http-tracing.js';
import { healthRoutes, type Lifecycle } from './routes/health.js';
import { explainRoutes } from './routes/explain.js';
import { inferRoutes } from './routes/infer.js';
import { predictV1Routes } from './routes/predict-v1.js';
import { modelRoutes } from './routes/models.js';
import { repositoryRoutes } from './routes/repository.js';
import { SERVER_NAME, SERVER_VERSION, serverMetadataRoutes } from './routes/server-metadata.js';
import { statisticsRoutes } from './routes/statistics.js';
import { sharedMemoryRoutes } from './routes/shared-memory.js';
import { traceSettingsRoutes } from './routes/trace-settings.js';
import { logSettingsRoutes } from './routes/log-settings.js';
import { type ServingBackend, storeAnswers } from './serving-backend.js';
import type { DeadLetters } from '../workers/queue/dead-letters.js';
import { adminRoutes } from './routes/admin.js';
import { DEFAULT_AUTH_FAILURE_LIMIT, type AuthFailureLimit } from './auth/api-keys.js';
import { installAuthentication } from './auth/authenticate.js';
import { installAuditHook } from './audit/audit-hook.js';
import { installRateLimit } from './limits/rate-limit.js';
import type { PolicyServices } from './wiring/policy-services.js';
import { pipelineDeps, type PipelineDeps } from './request/pipeline-deps.js';
import { policyAdminRoutes } from './routes/policy-admin.js';
import { reviewRoutes } from './routes/reviews.js';
import { spendRoutes } from './routes/spend.js';
import { taskRoutes } from './routes/tasks.js';
import { consoleRoutes } from './routes/console.js';
import { consoleObserver } from './console/console-hooks.js';
import { ConsoleSeries } from './console/console-series.js';
import type { TaskService } from './tasks/task-service.js';
import type { Registry } from 'prom-client';
import type { GatewayMetrics } from './metrics/gateway-metrics.js';
import { metricsObserver } from './metrics/metrics-hook.js';
import { metricsRoutes } from './routes/metrics.js';
import { openApiRoutes } from './routes/openapi.js';
import { installOpenApi } from './openapi/install-openapi.js';
import type { ListenerTls } from './tls/listener-tls.js';
import { fastifyTrustProxy, type TrustProxy } from './http/trust-proxy.js';

export interface AppOptions {
  readonly backend: ServingBackend;
  /** Tenants, routes and the stores that enforce them. */
  readonly services: PolicyServices;
  /** Pipelines and their tasks. */
  readonly tasks?: TaskService;
  /** Distributed mode's dead-letter queue. */
  readonly deadLetters?: DeadLetters;
  /** Counts open requests, so draining can wait for them; optional for tests that never drain. */
  readonly inFlight?: InFlightRequests;
  readonly lifecycle: Lifecycle;
  /** The request pipeline, when the gRPC front end shares it (one rate-limit window for both); built here otherwise. */
  readonly pipeline?: PipelineDeps;
  readonly logger: Logger;
  readonly bodyLimit: number;
  /** The request bytes held at once (BODY_MEMORY_BYTES), shared with the gRPC front end; unbounded when absent. */
  readonly bodyMemory?: BodyMemory;
  /** Connections the listener holds at once (MAX_CONNECTIONS); unbounded when absent. */
  readonly maxConnections?: number;
  /** Failed authentications per client address before 429 (AUTH_FAILURE_LIMIT, AUTH_FAILURE_WINDOW_MS), for a pipeline built here. */
  readonly authFailures?: AuthFailureLimit;
  /** The process's registry (served at /metrics) and the gateway's families; none in tests that need no metrics. */
  readonly metrics?: { readonly registry: Registry; readonly gateway: GatewayMetrics };
  /** HTTPS (and mTLS) on the listener, reloading rotated files; plain HTTP when absent. */
  readonly tls?: ListenerTls;
  /** Proxies whose X-Forwarded-For names the client (TRUST_PROXY); none when absent. */
  readonly trustProxy?: TrustProxy;
}

/** The HTTP API over a serving backend; the caller owns listening and the backend's life. */
export function buildApp(options: AppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger,
    // fastify's two lines per request cost throughput; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    bodyLimit: options.bodyLimit,
    genReqId: requestIdFor,
    // Requests that arrive while draining get Switchyard's shutting_down, not fastify's bare 503.
    return503OnClosing: false,
    // Explicit timeouts: a slow client must not hold a connection for ever.
    connectionTimeout: 120_000,
    requestTimeout: 120_000,
    keepAliveTimeout: 10_000,
    ...(options.tls ? { https: options.tls.serverOptions } : {}),
    ...(options.trustProxy ? { trustProxy: fastifyTrustProxy(options.trustProxy) } : {}),
    // The router's and the HTTP parser's own refusals answer in the same JSON shape as every other error.
    frameworkErrors: frameworkErrorReply,
    clientErrorHandler: clientErrorReply,
  }) as unknown as FastifyInstance;
  options.tls?.attach(app);
  // A client opening sockets by the thousand must not take every file descriptor (Redis, model files, callbacks need them).
  if (options.maxConnections !== undefined) app.server.maxConnections = options.maxConnections;
  installNodeRefusals(app);
  const authFailures = options.trustProxy
    ? { ...(options.authFailures ?? DEFAULT_AUTH_FAILURE_LIMIT), trustProxy: options.trustProxy }
    : options.authFailures;
  const pipeline =
    options.pipeline ?? pipelineDeps(options.backend, options.services, options.lifecycle, authFailures, true, reviewExplainer);
  options.inFlight?.install(app);
  installBodyParsers(app, options.bodyLimit);
  installRequestDecoding(app, options.bodyLimit);
  // After inflating: a body counts what it becomes.
  if (options.bodyMemory) installHeldBodies(app, options.bodyMemory);
  installCompression(app);
  installMultipartParser(app, options.bodyLimit);
  installErrorReplies(app);
  installTraceContext(app);
  traceHttpRequests(app);
  installAuthentication(app, options.services.policy.tenants.length === 0, pipeline.authenticate);
  traceAfterAuthentication(app);
  installAuditHook(app, options.services.audit);
  // Before the routes: it collects them as they are registered.
  installOpenApi(app, { name: SERVER_NAME, version: SERVER_VERSION });
  const series = new ConsoleSeries();
  const routeNames = new Set(options.services.policy.routes.map((route) => route.name));
  const pipelineNames = new Set(options.tasks?.pipelines().map((pipeline) => `task:${pipeline.name}`) ?? []);
  // Queue depth for the console's charts, sampled off the request path.
  const sampler = setInterval(() => {
    for (const { model, waiting } of options.backend.backlog()) series.queued(model, waiting);
  }, 2_000);
  sampler.unref();
  app.addHook('onClose', (_instance, done) => {
    clearInterval(sampler);
    done();
  });
  installResponseObservers(app, [
    logRequest,
    consoleObserver(
      series,
      (target) => routeNames.has(target) || pipelineNames.has(target) || options.backend.definition(target) !== undefined,
    ),
    ...(options.metrics ? [metricsObserver(options.metrics.gateway)] : []),
  ]);
  // Routes live in a plugin, after the rate limit's hook, so it runs after authentication.
  void app.register(async (api) => {
    // No tenant with a limit: no limiter on the hot path at all.
    if (options.services.policy.tenants.some((tenant) => tenant.rate_limit))
      traceRateLimit(api, () => installRateLimit(api, pipeline.rateLimiter));
    healthRoutes(api, options.backend, options.lifecycle);
    serverMetadataRoutes(api);
    modelRoutes(api, options.backend, options.services.policy.routes);
    statisticsRoutes(api, options.backend, options.services.policy.routes);
    inferRoutes(api, pipeline);
    predictV1Routes(api, pipeline, options.backend, options.services.policy.routes);
    explainRoutes(api, pipeline);
    repositoryRoutes(api, options.backend);
    sharedMemoryRoutes(api);
    traceSettingsRoutes(api);
    logSettingsRoutes(api, options.logger);
    adminRoutes(api, options.deadLetters);
    spendRoutes(api, options.services);
    policyAdminRoutes(api, options.services);
    reviewRoutes(api, options.services, options.tasks);
    if (options.metrics) metricsRoutes(api, options.metrics.registry);
    if (options.tasks) taskRoutes(api, options.tasks, options.services, options.lifecycle, () => storeAnswers(options.backend));
    consoleRoutes(api, options.backend, options.services, series, options.tasks);
    openApiRoutes(api);
  });
  return app;
}
