import { setImmediate as nextTurn } from 'node:timers/promises';

/** Work a transform does on the event loop before it lets other requests in. */
const TURN_MS = 5;

/**
 * `work` for each item in order, yielding to the event loop whenever a turn's share of time
 * is spent: a page with a thousand lines must not hold every other request (and the health
 * checks) for the whole of its post-processing.
 */
export async function mapTakingTurns<T, R>(items: readonly T[], work: (item: T, index: number) => R): Promise<R[]> {
  const out: R[] = [];
  let turnStarted = performance.now();
  for (let index = 0; index < items.length; index += 1) {
    if (performance.now() - turnStarted > TURN_MS) {
      await nextTurn();
      turnStarted = performance.now();
    }
    out.push(work(items[index]!, index));
  }
  return out;
}

/**
 * `work` for each item, at most `limit` at once, results in the items' order. For work
 * that starts something off the loop (sharp): starting a thousand at once is itself a
 * stall, and libuv's pool runs only a few anyway.
 */
export async function mapAtMost<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      out[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
