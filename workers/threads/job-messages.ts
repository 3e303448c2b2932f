/** Main thread -> pool thread: one job. */
export interface JobRequest {
  readonly id: number;
  readonly payload: unknown;
}

/** Pool thread -> main thread: the job's value, or its error (a ServingError keeps its code). */
export interface JobReply {
  readonly id: number;
  readonly value?: unknown;
  readonly error?: { readonly code?: string; readonly message: string };
}
