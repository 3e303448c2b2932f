/**
 * Splits a client-observed latency with the timings Switchyard puts on every inference
 * answer (gateway/metadata/response-metadata.ts): X-Queue-Ms is the batcher wait, X-Compute-Ms
 * the batch's model run, X-Server-Ms the gateway's whole time (both included). The gateway's
 * overhead (HTTP parsing, routing, policy, encoding) is the server time less queue and compute;
 * the rest of what the client saw is the network and the client itself (on one small machine,
 * mostly the load generator's own event loop). A server without X-Server-Ms gets it all
 * counted as gateway overhead, network 0.
 */
export const QUEUE_HEADER = 'x-queue-ms';
export const COMPUTE_HEADER = 'x-compute-ms';
export const SERVER_HEADER = 'x-server-ms';
export const REPLAYED_HEADER = 'idempotent-replayed';

export interface LatencyBreakdown {
  readonly gatewayMs: number;
  readonly queueMs: number;
  readonly computeMs: number;
  readonly networkMs: number;
}

export const BREAKDOWN_PARTS = ['gatewayMs', 'queueMs', 'computeMs', 'networkMs'] as const;

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
  const server = Number(headerValue(headers, SERVER_HEADER));
  if (headerValue(headers, SERVER_HEADER) === undefined || !Number.isFinite(server)) {
    return { gatewayMs: latencyMs - queue - compute, queueMs: queue, computeMs: compute, networkMs: 0 };
  }
  return { gatewayMs: server - queue - compute, queueMs: queue, computeMs: compute, networkMs: latencyMs - server };
}

export function isReplayed(headers: ResponseHeaders): boolean {
  return headerValue(headers, REPLAYED_HEADER) === 'true';
}
