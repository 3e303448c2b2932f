import type { Redis } from 'ioredis';

/** One record per request, appended after the answer is sent. */
export interface AuditEntry {
  readonly time: string;
  readonly requestId: string;
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
}

export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  read(limit: number, tenant?: string): Promise<AuditEntry[]>;
}

/** Embedded mode: the newest `capacity` entries in memory. */
export class MemoryAuditLog implements AuditLog {
  readonly #entries: AuditEntry[] = [];
  constructor(readonly capacity: number) {}

  async append(entry: AuditEntry): Promise<void> {
    this.#entries.push(entry);
    if (this.#entries.length > this.capacity) this.#entries.splice(0, this.#entries.length - this.capacity);
  }

  async read(limit: number, tenant?: string): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    for (let i = this.#entries.length - 1; i >= 0 && out.length < limit; i -= 1) {
      const entry = this.#entries[i]!;
      if (!tenant || entry.tenant === tenant) out.push(entry);
    }
    return out;
  }
}

/** Distributed mode: a capped Redis stream shared by every gateway. */
export class RedisAuditLog implements AuditLog {
  constructor(private readonly redis: Redis, private readonly key: string, private readonly capacity: number) {}

  async append(entry: AuditEntry): Promise<void> {
    await this.redis.xadd(this.key, 'MAXLEN', '~', String(this.capacity), '*', 'entry', JSON.stringify(entry));
  }

  async read(limit: number, tenant?: string): Promise<AuditEntry[]> {
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
