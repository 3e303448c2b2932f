import { setTimeout as sleep } from 'node:timers/promises';
import { isServingError, type ErrorCode } from '../../workers/protocol/errors.js';
import type { InferResult, ValidInferRequest } from '../../workers/protocol/inference.js';
import type { ServingBackend } from '../serving-backend.js';

/** Refusals that mean "not now" rather than "not this": no ready worker, Redis down or failed over, a full queue. */
const NOT_NOW: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['model_not_ready', 'backend_unavailable', 'request_lost', 'queue_full']);
const FIRST_WAIT_MS = 100;
const LONGEST_WAIT_MS = 2_000;

/**
 * One backend request. A caller on the line gets the 503 at once; an asynchronous task's
 * caller is not on the line, so (`waitForCapacity`) a refusal that means "not now" (a
 * worker pool restarting or scaling up from zero, Redis failing over, a full queue) is
 * tried again with backoff until the request's deadline, instead of failing the task on
 * the first try.
 */
export async function inferWaitingForCapacity(
  backend: ServingBackend,
  request: ValidInferRequest,
  waitForCapacity: boolean,
  signal?: AbortSignal,
): Promise<InferResult> {
  let waitMs = FIRST_WAIT_MS;
  for (;;) {
    try {
      return await backend.infer(request, signal);
    } catch (error) {
      const retry =
        waitForCapacity && isServingError(error) && NOT_NOW.has(error.code) && Date.now() + waitMs < request.deadline && !signal?.aborted;
      if (!retry) throw error;
      await sleep(waitMs, undefined, signal ? { signal } : undefined).catch(() => undefined);
      waitMs = Math.min(waitMs * 2, LONGEST_WAIT_MS);
    }
  }
}
