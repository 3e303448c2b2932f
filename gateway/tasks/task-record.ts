import type { StepMetadata } from '../pipelines/run-pipeline.js';

/**
 * needs_review: the pipeline succeeded and its result waits for a human before the task does.
 * cancelled: `DELETE /v1/tasks/{id}` (or a synchronous caller leaving) stopped it.
 */
export type TaskStatus = 'queued' | 'running' | 'needs_review' | 'succeeded' | 'failed' | 'cancelled';

export interface CallbackAttempt {
  readonly at: string;
  readonly attempt: number;
  /** HTTP status, absent when no response came. */
  readonly status?: number;
  readonly error?: string;
  readonly duration_ms: number;
}

export interface TaskCallback {
  readonly url: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: CallbackAttempt[];
  /** Why it failed without an attempt (the gateway had no room for it). */
  error?: string;
}

/** What a task spent from its tenant's budget before its cost was known. */
export interface TaskReservation {
  readonly period: string;
  readonly estimatePico: number;
}

/** A task as stored and as `GET /v1/tasks/{id}` shows it. */
export interface TaskRecord {
  readonly id: string;
  readonly pipeline: string;
  readonly tenant: string;
  readonly mode: 'sync' | 'async';
  status: TaskStatus;
  readonly created_at: string;
  started_at?: string;
  finished_at?: string;
  /** Epoch ms: the task fails with request_timeout if not done by then. */
  readonly deadline: number;
  readonly priority: number;
  /** The task asked for explanations of its image classification steps. */
  readonly explain?: true;
  /** The traceparent of the request that created it: its model requests continue that trace. */
  readonly traceparent?: string;
  /** Times a worker began it: above 1 when a gateway died mid-task and another took over. */
  runs: number;
  result?: { readonly outputs: Record<string, unknown>; readonly steps: readonly StepMetadata[]; readonly cost_usd: number };
  error?: { readonly code: string; readonly message: string; readonly step?: string };
  /** What its model calls were charged, set when it ends: a failed task pays for the calls that ran. */
  cost_usd?: number;
  callback?: TaskCallback;
  reservation?: TaskReservation;
  /** Present when the task asked for human review or its pipeline's result called for one; filled in as the review goes on. */
  review?: TaskReview;
}

export interface TaskReview {
  /** True when the request asked for review; false when the pipeline's `review_when` matched its result. */
  readonly requested: boolean;
  id?: string;
  status?: 'pending_review' | 'approved' | 'corrected';
  resolved_by?: string;
  resolved_at?: string;
  /** The reviewer's corrected output, when the decision was "corrected". */
  human_output?: unknown;
}

export type TaskEventType =
  | 'task-queued'
  | 'task-started'
  | 'step-started'
  | 'step-finished'
  | 'step-failed'
  | 'task-needs-review'
  | 'task-succeeded'
  | 'task-failed'
  | 'task-cancelled'
  | 'callback-attempted';

/** One line of a task's progress, as `GET /v1/tasks/{id}/events` streams it. */
export interface TaskEvent {
  /** 1, 2, 3... per task; the SSE event id, so a client can resume with Last-Event-ID. */
  readonly seq: number;
  readonly type: TaskEventType;
  readonly at: string;
  readonly data: Record<string, unknown>;
}

export function isFinished(status: TaskStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}

/** Past cancelling: the task ran to its end (a result waiting for review included). */
export function isPastCancel(status: TaskStatus): boolean {
  return isFinished(status) || status === 'needs_review';
}

/** What a caller sees: internal bookkeeping stays out. */
export function publicTask(record: TaskRecord): Record<string, unknown> {
  const { reservation: _reservation, deadline: _deadline, traceparent: _traceparent, ...shown } = record;
  return shown;
}
