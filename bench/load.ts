import autocannon from 'autocannon';
import { cycle } from './request-bodies.js';
import { round } from './stats.js';

export interface LoadResult {
  readonly connections: number;
  readonly durationSeconds: number;
  /** 2xx responses over the run's duration: the figure the targets use. */
  readonly requestsPerSecond: number;
  readonly responses2xx: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  /** autocannon records whole milliseconds only; see the sequential client for sub-ms. */
  readonly latencyMs: { readonly mean: number; readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  readonly statusCodes: Record<string, number>;
}

export interface LoadTarget {
  readonly url: string;
  readonly path: string;
  /** JSON request bodies, cycled across all connections. */
  readonly bodies: readonly string[];
}

function fire(target: LoadTarget, connections: number, seconds: number): Promise<autocannon.Result> {
  const next = cycle(target.bodies);
  return autocannon({
    url: target.url,
    connections,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [{ method: 'POST', path: target.path, setupRequest: (request) => ({ ...request, body: next() }) }],
  });
}

/** Closed-loop load: `connections` keep-alive clients each sending the next request on reply. */
export async function runLoad(target: LoadTarget, connections: number, seconds: number, warmupSeconds: number): Promise<LoadResult> {
  // Thrown away: it only warms the JIT, the sockets and the server's queues.
  if (warmupSeconds > 0) await fire(target, connections, warmupSeconds);
  const result = await fire(target, connections, seconds);
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0;
  return {
    connections,
    durationSeconds: round(result.duration, 2),
    requestsPerSecond: round(result['2xx'] / result.duration, 1),
    responses2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: {
      mean: round(result.latency.mean, 2),
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    statusCodes,
  };
}
