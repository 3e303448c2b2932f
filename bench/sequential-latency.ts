import { Agent } from 'node:http';
import { post } from './http-post.js';
import { cycle } from './request-bodies.js';
import type { LoadTarget } from './load.js';
import { mean, percentile, round } from './stats.js';

export interface SequentialLatency {
  readonly requests: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly minMs: number;
  readonly responseBytes: number;
  /** Medians of the gateway's own x-queue-ms / x-compute-ms headers, when it sends them. */
  readonly serverQueueP50Ms?: number;
  readonly serverComputeP50Ms?: number;
}

/**
 * One connection, one request at a time, timed with hrtime from write to the last body
 * byte: the sub-millisecond latency autocannon cannot report.
 */
export async function measureSequential(target: LoadTarget, requests: number, warmup = 100): Promise<SequentialLatency> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(target.path, target.url);
  const next = cycle(target.bodies);
  const times: number[] = [];
  const queue: number[] = [];
  const compute: number[] = [];
  let responseBytes = 0;
  try {
    for (let i = 0; i < warmup + requests; i += 1) {
      const start = process.hrtime.bigint();
      const reply = await post(agent, url, next());
      const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
      if (reply.status !== 200) throw new Error(`${url.href} answered ${reply.status}: ${reply.body.toString('utf8').slice(0, 300)}`);
      if (i < warmup) continue;
      times.push(elapsed);
      responseBytes = reply.body.length;
      const queueMs = Number(reply.headers['x-queue-ms']);
      const computeMs = Number(reply.headers['x-compute-ms']);
      if (Number.isFinite(queueMs)) queue.push(queueMs);
      if (Number.isFinite(computeMs)) compute.push(computeMs);
    }
  } finally {
    agent.destroy();
  }
  return {
    requests: times.length,
    p50Ms: round(percentile(times, 50), 4),
    p90Ms: round(percentile(times, 90), 4),
    p99Ms: round(percentile(times, 99), 4),
    meanMs: round(mean(times), 4),
    minMs: round(Math.min(...times), 4),
    responseBytes,
    ...(queue.length > 0 ? { serverQueueP50Ms: round(percentile(queue, 50), 4) } : {}),
    ...(compute.length > 0 ? { serverComputeP50Ms: round(percentile(compute, 50), 4) } : {}),
  };
}
