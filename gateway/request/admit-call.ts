import { ServingError } from '../../workers/protocol/errors.js';
import { storeAnswers } from '../serving-backend.js';
import type { PipelineDeps } from './pipeline-deps.js';

/**
 * Stage: checked when a call arrives, before its body is read. A call that arrived
 * before draining began is answered, one that arrives after is refused; so is one that
 * arrives while Redis does not answer (distributed mode), at once rather than after waiting
 * on a command until its deadline.
 */
export function admitInference({ lifecycle, backend }: Pick<PipelineDeps, 'lifecycle' | 'backend'>): void {
  const phase = lifecycle.phase();
  if (phase === 'starting') throw new ServingError('model_not_ready', 'the server is starting: models are loading');
  if (phase === 'draining') throw new ServingError('shutting_down', 'the server is shutting down');
  if (!storeAnswers(backend)) throw new ServingError('backend_unavailable', 'Redis does not answer; nothing was queued');
}

/** Between stages: a caller that went away gets nothing more started for it. */
export function throwIfCancelled(cancel: AbortSignal | undefined): void {
  if (cancel?.aborted) throw new ServingError('client_cancelled', 'the caller went away before the answer: nothing more was run');
}
