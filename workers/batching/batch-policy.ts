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
 *
 * Requests of one group (a queue job's, in distributed mode: its caller is answered when the
 * last of them is) are not split by the cap while the batch holds something else: a batch
 * that would end partway into a group ends before it, and the group goes whole in the next.
 * Splitting two jobs of 25 at a cap of 32 made every job wait for two runs.
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
  /** Requests answered together (a queue job's); kept in one batch where the cap allows. */
  readonly group?: string;
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
  if (full) return { kind: 'send', indexes: wholeGroups(queue, head.signature, indexes), reason: capped ? 'capped' : 'full' };

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

/**
 * A full batch without the groups it would cut: those with a request of the signature left
 * out. Unchanged when that would leave nothing (a group larger than the cap is split).
 */
function wholeGroups(queue: readonly Queued[], signature: string, indexes: readonly number[]): readonly number[] {
  const inBatch = new Set(indexes);
  let cut: Set<string> | undefined;
  const grouped = new Set<string>();
  for (const index of indexes) {
    const group = queue[index]!.group;
    if (group !== undefined) grouped.add(group);
  }
  if (grouped.size === 0) return indexes;
  for (let i = 0; i < queue.length; i += 1) {
    const item = queue[i]!;
    if (inBatch.has(i) || item.signature !== signature || item.group === undefined || !grouped.has(item.group)) continue;
    (cut ??= new Set()).add(item.group);
  }
  if (!cut) return indexes;
  const kept = indexes.filter((index) => !cut.has(queue[index]!.group ?? ''));
  return kept.length > 0 ? kept : indexes;
}
