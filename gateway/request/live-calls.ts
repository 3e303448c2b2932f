/**
 * Live inference calls in progress in this process, by the model they were decoded for, from
 * their plan to their answer: an explanation's batch (gateway/explain/yield-to-live.ts) waits
 * until none is, since one that starts while a live call is being decoded, queued or run
 * slows that call (the instance, or the CPU, is shared). Explanations do not count.
 */
const inFlight = new Map<string, number>();

/** Counts one live call on `model` until the returned function is called (once). */
export function liveCallStarted(model: string): () => void {
  inFlight.set(model, (inFlight.get(model) ?? 0) + 1);
  let open = true;
  return () => {
    if (!open) return;
    open = false;
    const left = (inFlight.get(model) ?? 1) - 1;
    if (left > 0) inFlight.set(model, left);
    else inFlight.delete(model);
  };
}

export function liveCallsInFlight(model: string): number {
  return inFlight.get(model) ?? 0;
}
