import { appendFile } from 'node:fs/promises';
import type { AuditEntry, AuditLog } from './audit-log.js';
import { WriteBehind } from '../support/write-behind.js';

/**
 * Tees an audit log into a JSON-lines file (AUDIT_LOG_FILE), appended in batches: the
 * durable record in embedded mode, and a local copy in distributed mode. Reads come
 * from the wrapped log.
 */
export class JsonLinesAuditLog implements AuditLog {
  readonly #inner: AuditLog;
  readonly #buffer: WriteBehind<AuditEntry>;

  constructor(inner: AuditLog, file: string, onError: (error: unknown) => void) {
    this.#inner = inner;
    this.#buffer = new WriteBehind((entries) => appendFile(file, entries.map((entry) => `${JSON.stringify(entry)}\n`).join('')), onError);
  }

  async append(entry: AuditEntry): Promise<void> {
    this.#buffer.add(entry);
    await this.#inner.append(entry);
  }

  read(limit: number, tenant?: string): Promise<AuditEntry[]> {
    return this.#inner.read(limit, tenant);
  }

  async flush(): Promise<void> {
    await Promise.all([this.#buffer.flush(), this.#inner.flush()]);
  }
}
