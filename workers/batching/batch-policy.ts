/**
 * The dynamic batcher's decision, as a pure function so it can be tested by table.
 *
 * Triton's rule, extended by one clause and one bound:
 *  1. Gather, in queue order, requests with the oldest request's signature until the
 *     next one would not fit in the batch cap: max_batch_size rows, or fewer when warm-up
 *     measured smaller batches faster per row (batch-cap.ts).
 *  2. If that fills the cap, send it.
 *  3. Else if no instance is busy, send it all now: the server is underloaded, so waiting
 *     would only add latency (a lone request never pays max_queue_delay), and cutting it
 *     to a preferred size would only add a second run behind the first.
 *  4. Else if a prefix of it adds up to a preferred batch size, send the largest such prefix.
 *  5. Else if the oldest request gathered has waited max_queue_delay, send it.
 *  6. Else wait until it has.
 *
 * The cap holds under a backlog too: there a full max_batch_size batch is always queued and
 * its oldest request has always waited its delay, yet a bigger batch would only serve every
 * row slower. A request larger than the cap still runs, alone.
 */

export interface BatchSettings {
  /** Most rows in one batch (1 for models that do not batch). */
  readonly maxBatchSize: number;
  readonly preferredBatchSizes: readonly number[];
  readonly maxQueueDelayMs: number;
  /** Most rows worth batching (at most maxBatchSize); maxBatchSize when unset. */
  readonly batchCap?: number;
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

export type SendReason = 'full' | 'capped' | 'preferred' | 'idle-instances' | 'delay-expired';

export interface InstanceCounts {
  readonly idle: number;
  readonly busy: number;
}

/** Precondition: the queue holds no expired requests. */
export function decideBatch(queue: readonly Queued[], instances: InstanceCounts, now: number, settings: BatchSettings): BatchDecision {
  const head = queue[0];
  if (!head || instances.idle === 0) return { kind: 'idle' };

  const cap = Math.min(settings.batchCap ?? settings.maxBatchSize, settings.maxBatchSize);
  const capped = cap < settings.maxBatchSize;
  const { indexes, prefixRows, full } = gather(queue, head.signature, cap);
  // A request larger than the batch limit is refused at validation (and one larger than the
  // cap is sent alone); never stall on one.
  if (indexes.length === 0) return { kind: 'send', indexes: [0], reason: capped ? 'capped' : 'full' };
  if (full) return { kind: 'send', indexes, reason: capped ? 'capped' : 'full' };

  if (instances.busy === 0) return { kind: 'send', indexes, reason: 'idle-instances' };

  let preferredEnd = -1;
  for (const size of settings.preferredBatchSizes) {
    const end = prefixRows.indexOf(size);
    if (end > preferredEnd) preferredEnd = end;
  }
  if (preferredEnd >= 0) return { kind: 'send', indexes: indexes.slice(0, preferredEnd + 1), reason: 'preferred' };

  // The fair queue may put a newer request first: the delay runs from the oldest gathered.
  let oldest = head.enqueuedAt;
  for (const index of indexes) oldest = Math.min(oldest, queue[index]!.enqueuedAt);
  const sendAt = oldest + settings.maxQueueDelayMs;
  if (now >= sendAt) return { kind: 'send', indexes, reason: 'delay-expired' };
  return { kind: 'wait', untilMs: sendAt };
}

interface Gathered {
  readonly indexes: number[];
  /** Rows up to and including each index. */
  readonly prefixRows: number[];
  /** The next request of the signature would not fit, or the rows reached the limit. */
  readonly full: boolean;
}

/** Requests with the head's signature, in queue order, until the next would pass `limit` rows. */
function gather(queue: readonly Queued[], signature: string, limit: number): Gathered {
  const indexes: number[] = [];
  const prefixRows: number[] = [];
  let rows = 0;
  for (let i = 0; i < queue.length; i += 1) {
    const item = queue[i]!;
    if (item.signature !== signature) continue;
    if (rows + item.rows > limit) return { indexes, prefixRows, full: indexes.length > 0 };
    rows += item.rows;
    indexes.push(i);
    prefixRows.push(rows);
    if (rows === limit) return { indexes, prefixRows, full: true };
  }
  return { indexes, prefixRows, full: false };
}
