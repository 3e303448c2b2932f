import { keyAuthenticator, type AuthFailureLimit, type Authenticator } from '../auth/api-keys.js';
import { TenantRateLimiter } from '../limits/tenant-rate-limit.js';
import type { PolicyServices } from '../wiring/policy-services.js';
import type { ServingBackend } from '../serving-backend.js';

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
}

export function pipelineDeps(
  backend: ServingBackend,
  services: PolicyServices,
  lifecycle: Lifecycle,
  authFailures?: AuthFailureLimit,
  cancelAbandoned = true,
): PipelineDeps {
  const authenticate = keyAuthenticator(services.policy, authFailures);
  return { backend, services, lifecycle, authenticate, rateLimiter: new TenantRateLimiter(services), cancelAbandoned };
}
