/** Background retries: after 1, 2, 3, 4 s, then every 5 s: 20 tries over about 90 s. */
export const RETRY_ATTEMPTS = 20;

let pending = 0;

/**
 * Tries `write` again in the background until it succeeds, for a write whose caller has
 * already moved on (a budget settle, an idempotency answer, a key released): Redis away for
 * a moment (a blip, a restart, a failover) must not lose it. The write must be safe to
 * repeat (each store makes its own so). `onGiveUp` hears the last error when every try failed.
 * Timers are unref'd: a process that stops loses what is still waiting.
 */
export function retryLater(write: () => Promise<unknown>, onGiveUp: (error: unknown) => void = () => undefined, attempt = 1): void {
  pending += 1;
  const retry = (): void => {
    write().then(
      () => (pending -= 1),
      (error: unknown) => {
        pending -= 1;
        if (attempt >= RETRY_ATTEMPTS) onGiveUp(error);
        else retryLater(write, onGiveUp, attempt + 1);
      },
    );
  };
  setTimeout(retry, Math.min(attempt * 1_000, 5_000)).unref();
}

/** Writes waiting for a retry in this process (for tests and shutdown logs). */
export function retriesPending(): number {
  return pending;
}
