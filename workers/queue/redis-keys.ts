/**
 * Every Redis key Switchyard uses in distributed mode, named in one place (BullMQ names its
 * own keys under the queue prefixes given here). A leaf: it imports nothing.
 *
 * In a Redis Cluster the keys one command, MULTI or script touches must hash to one slot;
 * Redis hashes only the part in `{braces}` (the hash tag) when a key has one. So:
 * - each queue has its own tag (`<prefix>:{<queue>}:<queue>:<suffix>`): BullMQ's scripts stay
 *   in one slot, and queues spread over the shards instead of all living on one;
 * - a tenant's budget, idempotency, rate-limit and concurrency keys share the tag `{t.<tenant>}`;
 * - keys written together share a tag: `{workers}` (registry), `{review}`, `{ledger}`, `{task.<id>}`,
 *   `{cache.<model>}` (a model's response cache: its entries and the index that bounds them).
 * Tags carry no prefix, so every key still starts with `<prefix>:` (deployments sharing a Redis
 * are told apart by SCAN MATCH `<prefix>:*`); on a single Redis the tags are only characters.
 */
export interface RedisKeys {
  /** BullMQ's `prefix` option for one queue. */
  queuePrefix(queue: string): string;
  /** BullMQ's own keys that hold waiting jobs (v6: plain jobs in a list, prioritized in a zset, retries backing off in a zset). */
  waiting(queue: string): { readonly wait: string; readonly prioritized: string; readonly delayed: string };
  /**
   * The streams engine (QUEUE_ENGINE=streams): one stream per priority class of a queue, and the
   * sorted set of its jobs backing off before a retry (`<class> <entry id>`, scored by when due).
   */
  jobStreams(queue: string): readonly string[];
  retries(queue: string): string;
  /** Items of a retried job already answered, so its next attempt skips them. */
  answeredItems(queue: string, jobId: string): string;
  /**
   * Items of one job whose callers left after it was queued (a set of item numbers, with a
   * TTL past the job's deadline): the worker checks it before running and skips them.
   */
  cancelledItems(queue: string, jobId: string): string;
  /** Pub/sub channel on which gateways announce those items to the workers holding their jobs. */
  cancellations(): string;
  /** One gateway instance's reply stream. */
  replies(gatewayId: string): string;
  /** Sorted set of live workers, scored by when their heartbeat expires... */
  workers(): string;
  /** ...and each worker's announcement (read together with MGET: same tag). */
  worker(workerId: string): string;
  budget(tenant: string, period: string): string;
  /** One reservation's (or once-write's) mark, beside its budget (same slot). */
  budgetMark(tenant: string, period: string, id: string): string;
  /** `scope` is the digest of route + Idempotency-Key within the tenant. */
  idempotency(tenant: string, scope: string): string;
  /** @fastify/rate-limit's key is this nameSpace + what its keyGenerator returns (rateLimitId). */
  rateLimitNameSpace(): string;
  /** A tenant's requests in flight (sorted set of leases). */
  concurrency(tenant: string): string;
  /** Daily spend hashes (one MULTI may write two days at midnight). */
  ledger(day: string): string;
  audit(): string;
  shadow(): string;
  reviewItem(id: string): string;
  reviewIndex(): string;
  reviewCounts(kind: 'created' | 'routed'): string;
  task(id: string): string;
  taskEvents(id: string): string;
  /** Set by `DELETE /v1/tasks/{id}` (with the record's retention); its executor, wherever it runs, stops. */
  taskCancel(id: string): string;
  taskEventSeq(id: string): string;
  /** One model's response cache (gateway/cache/): its entries, by key digest, and their LRU index, sizes and byte count. */
  responseCache(model: string): ResponseCacheKeys;
}

export interface ResponseCacheKeys {
  /** Entry keys are this plus the digest (the eviction script builds them from it, in the same slot). */
  readonly entryPrefix: string;
  /** Sorted set of digests by last use. */
  readonly index: string;
  /** Hash of digest to the bytes it counts. */
  readonly sizes: string;
  /** The sum of those bytes. */
  readonly bytes: string;
}

const tenantTag = (tenant: string): string => `{t.${tenant}}`;

/** What the rate limiter's keyGenerator returns for a tenant: its tag, so the limit shares the tenant's slot. */
export const rateLimitId = tenantTag;

export function redisKeys(prefix: string): RedisKeys {
  const queuePrefix = (queue: string): string => `${prefix}:{${queue}}`;
  return {
    queuePrefix,
    waiting: (queue) => {
      const base = `${queuePrefix(queue)}:${queue}`;
      return { wait: `${base}:wait`, prioritized: `${base}:prioritized`, delayed: `${base}:delayed` };
    },
    jobStreams: (queue) => [0, 1, 2].map((priorityClass) => `${queuePrefix(queue)}:${queue}:jobs:${priorityClass}`),
    retries: (queue) => `${queuePrefix(queue)}:${queue}:retries`,
    answeredItems: (queue, jobId) => `${queuePrefix(queue)}:${queue}:answered:${jobId}`,
    cancelledItems: (queue, jobId) => `${queuePrefix(queue)}:${queue}:cancelled:${jobId}`,
    cancellations: () => `${prefix}:cancellations`,
    replies: (gatewayId) => `${prefix}:replies:${gatewayId}`,
    workers: () => `${prefix}:{workers}`,
    worker: (workerId) => `${prefix}:{workers}:${workerId}`,
    budget: (tenant, period) => `${prefix}:budget:${tenantTag(tenant)}:${period}`,
    budgetMark: (tenant, period, id) => `${prefix}:budget:${tenantTag(tenant)}:${period}:op:${id}`,
    idempotency: (tenant, scope) => `${prefix}:idempotency:${tenantTag(tenant)}:${scope}`,
    rateLimitNameSpace: () => `${prefix}:ratelimit:`,
    concurrency: (tenant) => `${prefix}:concurrency:${tenantTag(tenant)}`,
    ledger: (day) => `${prefix}:{ledger}:${day}`,
    audit: () => `${prefix}:audit`,
    shadow: () => `${prefix}:shadow`,
    reviewItem: (id) => `${prefix}:{review}:item:${id}`,
    reviewIndex: () => `${prefix}:{review}:index`,
    reviewCounts: (kind) => `${prefix}:{review}:${kind}`,
    task: (id) => `${prefix}:task:{task.${id}}`,
    taskEvents: (id) => `${prefix}:task:{task.${id}}:events`,
    taskCancel: (id) => `${prefix}:task:{task.${id}}:cancel`,
    taskEventSeq: (id) => `${prefix}:task:{task.${id}}:events:seq`,
    responseCache: (model) => {
      const base = `${prefix}:cache:{cache.${model}}`;
      return { entryPrefix: `${base}:e:`, index: `${base}:lru`, sizes: `${base}:sizes`, bytes: `${base}:bytes` };
    },
  };
}
