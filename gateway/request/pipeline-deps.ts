import { keyAuthenticator, type AuthFailureLimit, type Authenticator } from '../auth/api-keys.js';
import { TenantRateLimiter } from '../limits/tenant-rate-limit.js';
import type { PolicyServices } from '../wiring/policy-services.js';
import { type ServingBackend, storeAnswers } from '../serving-backend.js';
import type { ReviewExplainer } from './infer-call.js';
import type { Target } from './resolve-target.js';

/** Where the process is in its life (routes/health.ts's Lifecycle, which satisfies this). */
export interface Lifecycle {
  phase(): 'starting' | 'serving' | 'draining';
}

/** What the request stages run against; one set per process, shared by the HTTP and gRPC front ends. */
export interface PipelineDeps {
  readonly backend: ServingBackend;
  readonly services: PolicyServices;
  readonly lifecycle: Lifecycle;
  readonly authenticate: Authenticator;
  readonly rateLimiter: TenantRateLimiter;
  /** CANCEL_ABANDONED: whether a caller's leaving reaches its model call (its queue or job). */
  readonly cancelAbandoned: boolean;
  /** Explains review items of routes with `review: {explain: true}` (wired by the entry points: explain/ builds on request/). */
  readonly reviewExplainer?: (target: Target) => ReviewExplainer | undefined;
}

export function pipelineDeps(
  backend: ServingBackend,
  services: PolicyServices,
  lifecycle: Lifecycle,
  authFailures?: AuthFailureLimit,
  cancelAbandoned = true,
  reviewExplainer?: (target: Target) => ReviewExplainer | undefined,
): PipelineDeps {
  const authenticate = keyAuthenticator(services.policy, authFailures);
  const rateLimiter = new TenantRateLimiter(services, () => storeAnswers(backend));
  return { backend, services, lifecycle, authenticate, rateLimiter, cancelAbandoned, ...(reviewExplainer ? { reviewExplainer } : {}) };
}
