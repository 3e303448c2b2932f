/** A task as GET /v1/tasks/{id} shows it (docs/pipelines-and-tasks.md). */
export interface Task {
  readonly id: string;
  readonly pipeline: string;
  readonly tenant: string;
  readonly mode: 'sync' | 'async';
  readonly status: 'queued' | 'running' | 'needs_review' | 'succeeded' | 'failed' | 'cancelled';
  readonly created_at: string;
  readonly started_at?: string;
  readonly finished_at?: string;
  readonly priority: number;
  readonly runs: number;
  readonly result?: {
    readonly outputs: Record<string, unknown>;
    readonly steps: readonly Record<string, unknown>[];
    readonly cost_usd: number;
  };
  readonly error?: { readonly code: string; readonly message: string; readonly step?: string };
  readonly cost_usd?: number;
  readonly callback?: { readonly url: string; readonly state: string; readonly attempts: readonly Record<string, unknown>[] };
  readonly review?: Record<string, unknown>;
}

/** A submitted task, and how the gateway answered. */
export interface Submitted {
  readonly task: Task;
  readonly replayed: boolean;
  readonly attempts: number;
  readonly idempotencyKey?: string;
}

/** One event of GET /v1/tasks/{id}/events; `seq` is its SSE id (resume with `lastEventId`). */
export interface TaskEvent {
  readonly seq: number;
  readonly type: string;
  readonly at?: string;
  readonly data: Record<string, unknown>;
}

export const FINAL_EVENTS: ReadonlySet<string> = new Set(['task-succeeded', 'task-failed', 'task-cancelled']);
export const isFinished = (task: Task): boolean => task.status === 'succeeded' || task.status === 'failed' || task.status === 'cancelled';
