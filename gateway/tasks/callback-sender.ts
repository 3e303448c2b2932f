import { publicTask, type TaskCallback, type TaskRecord, type CallbackAttempt } from './task-record.js';
import type { TaskStore } from './task-store.js';

/**
 * Where every callback goes once its task has ended (synchronous, batch item or asynchronous):
 * one per gateway, with a cap on its open connections (CALLBACK_CONCURRENCY), so deliveries
 * never hold a task's slot and never grow with the request rate.
 */
export interface CallbackSender {
  /**
   * Takes the task's callback when one is due: resolves once the sender holds it (in distributed
   * mode, once it is on the durable queue), not when it is delivered.
   */
  send(record: TaskRecord): Promise<void>;
  /** Stops taking callbacks and waits for the attempts in flight. */
  close(): Promise<void>;
}

export type WithCallback = TaskRecord & { callback: TaskCallback };

/** Not yet delivered nor given up, and not held while the result waits for review (the callback carries the verdict). */
export function callbackDue(record: TaskRecord): record is WithCallback {
  return record.callback?.state === 'pending' && record.status !== 'needs_review';
}

/** What the receiver is sent: the task as `GET /v1/tasks/{id}` shows it, less its callback. */
export const callbackBody = (record: TaskRecord): string => JSON.stringify(publicTask({ ...record, callback: undefined }));

/** An attempt goes on the task's record and its events as it ends. */
export async function recordAttempt(store: TaskStore, record: WithCallback, attempt: CallbackAttempt): Promise<void> {
  record.callback.attempts.push(attempt);
  await store.put(record);
  await store.appendEvent(record.id, 'callback-attempted', { ...attempt });
}

export async function settleCallback(store: TaskStore, record: WithCallback, state: 'delivered' | 'failed', error?: string): Promise<void> {
  record.callback.state = state;
  if (error !== undefined) record.callback.error = error;
  await store.put(record);
}
