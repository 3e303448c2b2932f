import type { RedisClient } from '../../workers/queue/redis-connection.js';
import { CLUSTER_TRANSACTION_SETTLE_MS, settledWithin } from '../../workers/queue/settled-within.js';
import { UnwrittenError, WriteBehind } from '../support/write-behind.js';

/** One record per request, appended after the answer is sent. */
export interface AuditEntry {
  readonly time: string;
  readonly requestId: string;
  /** The caller's own X-Request-Id, when it sent a usable one. */
  readonly clientRequestId?: string;
  readonly tenant: string;
  readonly route: string;
  readonly model?: string;
  readonly version?: string;
  readonly tier?: string;
  readonly escalated?: boolean;
  readonly idempotencyKey?: string;
  readonly replayed?: boolean;
  readonly status: number;
  readonly code?: string;
  readonly costUsd: number;
  readonly latencyMs: number;
  /** Review API calls: what was done (e.g. "review.claim"), by whom, to which item. */
  readonly action?: string;
  readonly reviewer?: string;
  /** The review item an answer was filed as, or a review action acted on. */
  readonly reviewId?: string;
  /** For a model that caches answers: whether this one came from the response cache (nothing ran, nothing charged). */
  readonly cached?: boolean;
}

export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  read(limit: number, tenant?: string): Promise<AuditEntry[]>;
  /** Writes anything still buffered. */
  flush(): Promise<void>;
}

/** Embedded mode: the newest `capacity` entries (at most 10,000, so memory stays flat) in a ring. */
export class MemoryAuditLog implements AuditLog {
  readonly #ring: (AuditEntry | undefined)[];
  #next = 0;

  constructor(capacity: number) {
    this.#ring = new Array<AuditEntry | undefined>(Math.min(capacity, 10_000));
  }

  async flush(): Promise<void> {}

  async append(entry: AuditEntry): Promise<void> {
    this.#ring[this.#next % this.#ring.length] = entry;
    this.#next += 1;
  }

  async read(limit: number, tenant?: string): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    const oldest = Math.max(0, this.#next - this.#ring.length);
    for (let i = this.#next - 1; i >= oldest && out.length < limit; i -= 1) {
      const entry = this.#ring[i % this.#ring.length]!;
      if (!tenant || entry.tenant === tenant) out.push(entry);
    }
    return out;
  }
}

/** Distributed mode: a capped Redis stream shared by every gateway, written in batches. */
export class RedisAuditLog implements AuditLog {
  readonly #buffer: WriteBehind<AuditEntry>;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly capacity: number,
    onError: (error: unknown) => void,
    settleMs = CLUSTER_TRANSACTION_SETTLE_MS,
  ) {
    this.#buffer = new WriteBehind(async (entries) => {
      const pipeline = this.redis.pipeline();
      for (const entry of entries) pipeline.xadd(this.key, 'MAXLEN', '~', String(this.capacity), '*', 'entry', JSON.stringify(entry));
      // Bounded on a Cluster (settledWithin): batches are written one after another, so one left
      // unsettled would stop the audit log and hold every later batch in memory.
      const results = (await settledWithin(this.redis, pipeline.exec(), settleMs)) ?? [];
      // A pipeline answers each command on its own: the entries Redis did not take are tried again.
      const failed = entries.filter((_, i) => results[i]?.[0]);
      if (failed.length > 0) throw new UnwrittenError(failed, results.find((result) => result[0])?.[0]);
    }, onError);
  }

  async append(entry: AuditEntry): Promise<void> {
    this.#buffer.add(entry);
  }

  flush(): Promise<void> {
    return this.#buffer.flush();
  }

  async read(limit: number, tenant?: string): Promise<AuditEntry[]> {
    await this.flush();
    const out: AuditEntry[] = [];
    let end = '+';
    while (out.length < limit) {
      const batch = await this.redis.xrevrange(this.key, end, '-', 'COUNT', 500);
      if (batch.length === 0) break;
      for (const [id, fields] of batch) {
        end = `(${id}`;
        const entry = JSON.parse(fields[1] ?? '{}') as AuditEntry;
        if (!tenant || entry.tenant === tenant) out.push(entry);
        if (out.length >= limit) break;
      }
      if (batch.length < 500) break;
    }
    return out;
  }
}
