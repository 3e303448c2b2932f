/**
 * Runs asynchronous tasks somewhere: in this process (embedded mode) or through a
 * durable queue any gateway drains (distributed mode).
 */
export interface TaskDispatcher {
  submit(taskId: string, inputs: Record<string, unknown>): Promise<void>;
  /** Stops taking tasks and waits for those running. */
  close(): Promise<void>;
}
