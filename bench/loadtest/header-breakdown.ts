/**
 * Splits a client-observed latency with the timings Switchyard puts on every inference
 * answer (gateway/metadata/response-metadata.ts): X-Queue-Ms is the batcher wait, X-Compute-Ms
 * the batch's model run; what is left (HTTP, parsing, routing, policy, the network) is the
 * gateway's overhead. Switchyard sends no total-time header, so the total is the client's.
 */
export const QUEUE_HEADER = 'x-queue-ms';
export const COMPUTE_HEADER = 'x-compute-ms';
export const REPLAYED_HEADER = 'idempotent-replayed';

export interface LatencyBreakdown {
  readonly gatewayMs: number;
  readonly queueMs: number;
  readonly computeMs: number;
}

export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** Header lookup by lower-case name: autocannon hands raw names as the server sent them. */
export function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/** Undefined when the answer carries no timings (errors, answers from other servers). */
export function breakDown(latencyMs: number, headers: ResponseHeaders): LatencyBreakdown | undefined {
  const queue = Number(headerValue(headers, QUEUE_HEADER));
  const compute = Number(headerValue(headers, COMPUTE_HEADER));
  if (!Number.isFinite(queue) || !Number.isFinite(compute) || headerValue(headers, QUEUE_HEADER) === undefined) return undefined;
  return { gatewayMs: latencyMs - queue - compute, queueMs: queue, computeMs: compute };
}

export function isReplayed(headers: ResponseHeaders): boolean {
  return headerValue(headers, REPLAYED_HEADER) === 'true';
}
