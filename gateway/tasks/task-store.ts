import type { TaskEvent, TaskEventType, TaskRecord } from './task-record.js';

/**
 * Where tasks and their progress live: memory in embedded mode, Redis in distributed
 * mode (so any gateway can answer for a task, and tasks outlive a gateway restart).
 * Records expire after the retention period.
 */
export interface TaskStore {
  put(record: TaskRecord): Promise<void>;
  get(id: string): Promise<TaskRecord | undefined>;
  appendEvent(id: string, type: TaskEventType, data: Record<string, unknown>): Promise<void>;
  /** Events after `afterSeq`; waits up to `waitMs` for one when there are none yet. */
  events(id: string, afterSeq: number, waitMs: number): Promise<TaskEvent[]>;
}
