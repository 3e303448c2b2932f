import type { Tensor } from './tensor.js';

/**
 * A request that passed validation against its model's config: the only shape the
 * schedulers accept, so a scheduler's signature alone proves validation ran.
 */
export interface ValidInferRequest {
  readonly requestId: string;
  readonly model: string;
  readonly version: string;
  readonly inputs: readonly Tensor[];
  /** Output names to return; every output when empty. */
  readonly outputs: readonly string[];
  /** Rows along the batch dimension (1 for models that do not batch). */
  readonly rows: number;
  /** Requests are only batched with others of the same signature (datatypes and non-batch dims). */
  readonly signature: string;
  /** Epoch ms after which the request is answered with a timeout. */
  readonly deadline: number;
  /** Lower runs first; 0 is the default. */
  readonly priority: number;
  /**
   * Who sent it, and its share against other tenants at the same priority: the batchers take
   * requests from tenants in turn, `weight` at a time (fair-queue.ts). Absent: one shared tenant.
   */
  readonly tenant?: string;
  readonly weight?: number;
  /** W3C traceparent of the gateway span that sent it, so worker logs join the caller's trace. */
  readonly traceparent?: string;
  /** Set on a queue job's requests (its id): the batcher keeps them in one batch where it can. */
  readonly group?: string;
}

/** How one request was served, measured where it happened. */
export interface InferTimings {
  readonly queueMs: number;
  /** Wall time of the whole batch's run on its instance. */
  readonly computeMs: number;
  /** Requests in the batch this request ran in. */
  readonly batchSize: number;
  /** Rows in that batch; this request's share of the compute is rows / batchRows. */
  readonly batchRows: number;
}

export interface InferResult {
  readonly model: string;
  readonly version: string;
  readonly outputs: readonly Tensor[];
  readonly timings: InferTimings;
}
