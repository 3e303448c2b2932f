import { ServingError } from '../../workers/protocol/errors.js';
import { idempotencyScope, readIdempotencyKey } from '../idempotency/idempotency-key.js';
import type { StoredResponse } from '../idempotency/idempotency-store.js';
import type { InferCall } from './infer-call.js';
import type { PipelineDeps } from './pipeline-deps.js';

export interface IdempotencyClaim {
  /** Keeps the answer for replays; never fails the request (the store retries a failed write). */
  complete(response: StoredResponse): Promise<void>;
  /** Frees the key (a rejection before execution, or a 5xx) so a retry can run. */
  abandon(): Promise<void>;
}

export type ClaimOutcome =
  | { readonly kind: 'none' }
  | { readonly kind: 'claimed'; readonly claim: IdempotencyClaim }
  | { readonly kind: 'replay'; readonly response: StoredResponse };

/** The key, checked early (a malformed key is a 400 before any work). */
export function idempotencyKeyOf(call: InferCall): string | undefined {
  const key = readIdempotencyKey(call.headers.idempotencyKey);
  if (key !== undefined) call.audit.idempotencyKey = key;
  return key;
}

/** Stage: claimed only once the request is valid; a replay costs nothing. */
export async function claimIdempotency(
  call: InferCall,
  key: string | undefined,
  tenant: string,
  route: string,
  fingerprint: () => string,
  deps: PipelineDeps,
): Promise<ClaimOutcome> {
  if (key === undefined) return { kind: 'none' };
  const store = deps.services.idempotency;
  const ttlMs = Math.round(deps.services.policy.idempotency.retention_hours * 3_600_000);
  const scope = idempotencyScope(tenant, route, key);
  const begun = await store.begin(scope, fingerprint(), ttlMs);
  if (begun.kind === 'replay') {
    call.audit.replayed = true;
    return { kind: 'replay', response: begun.response };
  }
  if (begun.kind === 'in-progress')
    throw new ServingError('idempotency_in_progress', 'a request with this Idempotency-Key is still running');
  if (begun.kind === 'mismatch')
    throw new ServingError('idempotency_key_reused', 'this Idempotency-Key was used with a different request (body, version or tier)');
  const { token } = begun;
  return {
    kind: 'claimed',
    claim: {
      complete: async (response) => {
        if (!(await store.complete(scope, token, response, ttlMs)))
          call.log.warn({ idempotencyKey: key }, 'keeping the answer for replays failed; retried in the background');
      },
      abandon: () => store.abandon(scope, token).catch(() => undefined),
    },
  };
}
