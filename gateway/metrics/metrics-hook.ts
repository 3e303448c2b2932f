import type { ResponseObserver } from '../http/response-observers.js';
import type { AuditDetails } from '../audit/audit-hook.js';
import type { GatewayMetrics } from './gateway-metrics.js';

/** Stands for every URL that matched no route: raw paths never become label values. */
export const UNMATCHED_ROUTE = 'unmatched';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/**
 * Records each response after it is sent: its duration under fastify's route pattern, and
 * the policy outcomes the inference path already notes on the request (its error code and
 * audit details), so the request path itself needs no metrics calls.
 */
export function metricsObserver(metrics: GatewayMetrics): ResponseObserver {
  return (request, reply) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const method = METHODS.has(request.method) ? request.method : 'OTHER';
    metrics.http.series({ route, method, status: String(reply.statusCode) }).observe(reply.elapsedTime / 1000);
    countPolicyOutcomes(metrics, request.tenant?.name, request.errorCode, request.audit);
  };
}

/** The policy outcomes the request path noted on a call (either front end): refusals, replays, escalations. */
export function countPolicyOutcomes(
  metrics: GatewayMetrics,
  tenant: string | undefined,
  errorCode: string | undefined,
  audit: AuditDetails | undefined,
): void {
  if (tenant !== undefined) {
    if (errorCode === 'rate_limited') metrics.rateLimited.inc({ tenant });
    if (errorCode === 'budget_exceeded') metrics.budgetRejected.inc({ tenant });
    if (audit?.replayed === true) metrics.idempotentReplays.inc({ tenant });
  }
  // Escalated is only set once a plan ran, so the route is a configured route or model.
  if (audit?.escalated === true && audit.route !== undefined) metrics.tierEscalations.inc({ route: audit.route });
}
