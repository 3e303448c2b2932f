import type { TaskEvent, TaskEventType, TaskRecord } from './task-record.js';

/**
 * Where tasks and their progress live: memory in embedded mode, Redis in distributed
 * mode (so any gateway can answer for a task, and tasks outlive a gateway restart).
 * Records expire after the retention period.
 */
export interface TaskStore {
  put(record: TaskRecord): Promise<void>;
  /**
   * Asks for the task to be cancelled, atomically against `finish`: `finished` when it has
   * already ended (or waits for review), else its cancel mark is set (`requested`, again on a repeat).
   */
  requestCancel(id: string): Promise<'requested' | 'finished' | 'missing'>;
  cancelRequested(id: string): Promise<boolean>;
  /** Writes the task's final record unless a cancel was requested first (then false, nothing written). */
  finish(record: TaskRecord): Promise<boolean>;
  /** Writes a cancelled record unless the stored one has ended already: of racing cancellations, one wins (true). */
  settleCancelled(record: TaskRecord): Promise<boolean>;
  get(id: string): Promise<TaskRecord | undefined>;
  appendEvent(id: string, type: TaskEventType, data: Record<string, unknown>): Promise<void>;
  /** Events after `afterSeq`; waits up to `waitMs` for one when there are none yet. */
  events(id: string, afterSeq: number, waitMs: number): Promise<TaskEvent[]>;
}
