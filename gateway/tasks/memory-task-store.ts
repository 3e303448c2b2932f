import { EventEmitter } from 'node:events';
import { isPastCancel, type TaskEvent, type TaskEventType, type TaskRecord } from './task-record.js';
import type { TaskStore } from './task-store.js';

interface Entry {
  record: TaskRecord;
  cancelRequested?: boolean;
  events: TaskEvent[];
  expires: number;
}

/** Embedded mode's task store: bounded by retention time and a count cap, oldest dropped first. */
export class MemoryTaskStore implements TaskStore {
  readonly #entries = new Map<string, Entry>();
  readonly #arrivals = new EventEmitter();
  readonly #retentionMs: number;
  readonly #maxTasks: number;

  constructor(retentionMs: number, maxTasks = 10_000) {
    this.#retentionMs = retentionMs;
    this.#maxTasks = maxTasks;
    // One listener per open event stream; many clients may follow tasks at once.
    this.#arrivals.setMaxListeners(0);
  }

  async put(record: TaskRecord): Promise<void> {
    const existing = this.#entries.get(record.id);
    // Stored as a copy, so later changes to the caller's object are not silently shared.
    const copy = structuredClone(record);
    if (existing) {
      existing.record = copy;
      return;
    }
    this.#evict();
    this.#entries.set(record.id, { record: copy, events: [], expires: Date.now() + this.#retentionMs });
  }

  // One thread: each of these runs to its end before another starts, so they are atomic.
  async requestCancel(id: string): Promise<'requested' | 'finished' | 'missing'> {
    const entry = this.#live(id);
    if (!entry) return 'missing';
    if (isPastCancel(entry.record.status)) return 'finished';
    entry.cancelRequested = true;
    return 'requested';
  }

  async cancelRequested(id: string): Promise<boolean> {
    return this.#live(id)?.cancelRequested === true;
  }

  async finish(record: TaskRecord): Promise<boolean> {
    if (this.#live(record.id)?.cancelRequested) return false;
    await this.put(record);
    return true;
  }

  async settleCancelled(record: TaskRecord): Promise<boolean> {
    const entry = this.#live(record.id);
    if (!entry || isPastCancel(entry.record.status)) return false;
    entry.record = structuredClone(record);
    return true;
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const entry = this.#live(id);
    return entry ? structuredClone(entry.record) : undefined;
  }

  async appendEvent(id: string, type: TaskEventType, data: Record<string, unknown>): Promise<void> {
    const entry = this.#live(id);
    if (!entry) return;
    entry.events.push({ seq: entry.events.length + 1, type, at: new Date().toISOString(), data });
    this.#arrivals.emit(id);
  }

  async events(id: string, afterSeq: number, waitMs: number): Promise<TaskEvent[]> {
    const ready = (): TaskEvent[] => this.#live(id)?.events.slice(afterSeq) ?? [];
    const now = ready();
    if (now.length > 0 || waitMs <= 0) return now;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#arrivals.off(id, done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      this.#arrivals.on(id, done);
    });
    return ready();
  }

  #live(id: string): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry && entry.expires < Date.now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry;
  }

  #evict(): void {
    const now = Date.now();
    for (const [id, entry] of this.#entries) {
      if (this.#entries.size < this.#maxTasks && entry.expires >= now) break;
      this.#entries.delete(id);
    }
  }
}
