/**
 * The dynamic batcher's decision, as a pure function so it can be tested by table.
 *
 * Triton's rule, extended by one clause:
 *  1. Gather, in queue order, requests with the oldest request's signature until the
 *     next one would not fit in max_batch_size rows.
 *  2. If that fills max_batch_size, send it.
 *  3. Else if no instance is busy, send it all now: the server is underloaded, so waiting
 *     would only add latency (a lone request never pays max_queue_delay), and cutting it
 *     to a preferred size would only add a second run behind the first.
 *  4. Else if a prefix of it adds up to a preferred batch size, send the largest such prefix.
 *  5. Else if the oldest request has waited max_queue_delay, send it.
 *  6. Else wait until it has.
 */

export interface BatchSettings {
  /** Most rows in one batch (1 for models that do not batch). */
  readonly maxBatchSize: number;
  readonly preferredBatchSizes: readonly number[];
  readonly maxQueueDelayMs: number;
}

export interface Queued {
  readonly rows: number;
  readonly signature: string;
  readonly enqueuedAt: number;
}

export type BatchDecision =
  | { readonly kind: 'idle' }
  | { readonly kind: 'send'; readonly indexes: readonly number[]; readonly reason: SendReason }
  | { readonly kind: 'wait'; readonly untilMs: number };

export type SendReason = 'full' | 'preferred' | 'idle-instances' | 'delay-expired';

export interface InstanceCounts {
  readonly idle: number;
  readonly busy: number;
}

/** Precondition: the queue holds no expired requests. */
export function decideBatch(
  queue: readonly Queued[],
  instances: InstanceCounts,
  now: number,
  settings: BatchSettings,
): BatchDecision {
  const head = queue[0];
  if (!head || instances.idle === 0) return { kind: 'idle' };

  const indexes: number[] = [];
  const prefixRows: number[] = [];
  let rows = 0;
  let full = false;
  for (let i = 0; i < queue.length; i += 1) {
    const item = queue[i]!;
    if (item.signature !== head.signature) continue;
    if (rows + item.rows > settings.maxBatchSize) {
      full = indexes.length > 0;
      break;
    }
    rows += item.rows;
    indexes.push(i);
    prefixRows.push(rows);
    if (rows === settings.maxBatchSize) {
      full = true;
      break;
    }
  }
  // A request larger than the batch limit is refused at validation; never stall on one.
  if (indexes.length === 0) return { kind: 'send', indexes: [0], reason: 'full' };
  if (full) return { kind: 'send', indexes, reason: 'full' };

  if (instances.busy === 0) return { kind: 'send', indexes, reason: 'idle-instances' };

  let preferredEnd = -1;
  for (const size of settings.preferredBatchSizes) {
    const end = prefixRows.indexOf(size);
    if (end > preferredEnd) preferredEnd = end;
  }
  if (preferredEnd >= 0) return { kind: 'send', indexes: indexes.slice(0, preferredEnd + 1), reason: 'preferred' };

  const sendAt = head.enqueuedAt + settings.maxQueueDelayMs;
  if (now >= sendAt) return { kind: 'send', indexes, reason: 'delay-expired' };
  return { kind: 'wait', untilMs: sendAt };
}
