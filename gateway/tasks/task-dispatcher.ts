/**
 * Runs asynchronous tasks somewhere: in this process (embedded mode) or through a
 * durable queue any gateway drains (distributed mode).
 */
export interface TaskDispatcher {
  submit(taskId: string, inputs: Record<string, unknown>): Promise<void>;
  /** Takes a task that has not started out of the queue: true when it will not run (it was cancelled). */
  withdraw(taskId: string): Promise<boolean>;
  /** Stops taking tasks and waits for those running. */
  close(): Promise<void>;
}
