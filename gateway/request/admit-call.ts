import { ServingError } from '../../workers/protocol/errors.js';
import type { Lifecycle } from './pipeline-deps.js';

/**
 * Stage: checked when a call arrives, before its body is read. A call that arrived
 * before draining began is answered, one that arrives after is refused.
 */
export function admitInference(lifecycle: Lifecycle): void {
  const phase = lifecycle.phase();
  if (phase === 'starting') throw new ServingError('model_not_ready', 'the server is starting: models are loading');
  if (phase === 'draining') throw new ServingError('shutting_down', 'the server is shutting down');
}

/** Between stages: a caller that went away gets nothing more started for it. */
export function throwIfCancelled(cancel: AbortSignal | undefined): void {
  if (cancel?.aborted) throw new ServingError('client_cancelled', 'the caller went away before the answer: nothing more was run');
}
