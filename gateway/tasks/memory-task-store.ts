import { EventEmitter } from 'node:events';
import type { TaskEvent, TaskEventType, TaskRecord } from './task-record.js';
import type { TaskStore } from './task-store.js';

interface Entry {
  record: TaskRecord;
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
