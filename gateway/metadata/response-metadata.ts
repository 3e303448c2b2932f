import type { InferResult } from '../../workers/protocol/inference.js';
import type { ModelConfig } from '../../workers/repository/model-config.js';
import { formatUsd, requestCost } from './request-cost.js';

/** The serving facts every inference response carries, as headers and as `parameters`. */
export interface ResponseMetadata {
  readonly request_id: string;
  /** The caller's own X-Request-Id, when it sent a usable one. */
  readonly client_request_id?: string;
  readonly route: string;
  readonly tier: string;
  readonly escalated: boolean;
  readonly model_version: string;
  readonly queue_ms: number;
  readonly compute_ms: number;
  /**
   * From the request's arrival to its answer being ready, queue and compute included: what
   * a caller's latency is beyond this is the network and the caller itself.
   */
  readonly server_ms: number;
  readonly batch_size: number;
  readonly cost_usd: string;
  /** The priority it ran at, after the tenant's policy (default, or a clamped ask). */
  readonly priority?: number;
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

export interface ServedBy {
  readonly route: string;
  readonly tier: string;
  readonly escalated: boolean;
  /** Every tier that ran; undefined to price this result alone. */
  readonly costUsd?: number;
  readonly priority?: number;
}

export function responseMetadata(
  ids: { readonly requestId: string; readonly clientRequestId: string | undefined },
  result: InferResult,
  price: ModelConfig['price'],
  rows: number,
  servedBy: ServedBy,
  serverMs: number,
): ResponseMetadata {
  return {
    request_id: ids.requestId,
    ...(ids.clientRequestId !== undefined ? { client_request_id: ids.clientRequestId } : {}),
    route: servedBy.route,
    tier: servedBy.tier,
    escalated: servedBy.escalated,
    model_version: result.version,
    queue_ms: round(result.timings.queueMs),
    compute_ms: round(result.timings.computeMs),
    server_ms: round(serverMs),
    batch_size: result.timings.batchSize,
    cost_usd: formatUsd(servedBy.costUsd ?? requestCost(price, result.timings, rows)),
    ...(servedBy.priority !== undefined ? { priority: servedBy.priority } : {}),
  };
}

/** The metadata as headers (HTTP) or initial metadata (gRPC): x-request-id, x-client-request-id, x-route, x-tier, … */
export function metadataHeaders(metadata: ResponseMetadata): Record<string, string> {
  return {
    'x-request-id': metadata.request_id,
    ...(metadata.client_request_id !== undefined ? { 'x-client-request-id': metadata.client_request_id } : {}),
    'x-route': metadata.route,
    'x-tier': metadata.tier,
    'x-escalated': String(metadata.escalated),
    'x-model-version': metadata.model_version,
    'x-queue-ms': String(metadata.queue_ms),
    'x-compute-ms': String(metadata.compute_ms),
    'x-server-ms': String(metadata.server_ms),
    'x-batch-size': String(metadata.batch_size),
    'x-cost-usd': metadata.cost_usd,
    ...(metadata.priority !== undefined ? { 'x-priority': String(metadata.priority) } : {}),
  };
}
