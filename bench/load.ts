import autocannon from 'autocannon';
import { cpuSeconds } from './proc-stats.js';
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
  /** CPU used during the run, 100 = one core: shows which side (load generator or server) was saturated. */
  readonly clientCpuPercent: number;
  readonly serverCpuPercent?: number;
  /** CPU % of other processes involved (distributed mode: worker, redis-server), by name. */
  readonly otherCpuPercent?: Record<string, number>;
}

export interface LoadTarget {
  readonly url: string;
  readonly path: string;
  /** JSON request bodies, cycled across all connections. */
  readonly bodies: readonly string[];
}

/** How long a run lasts: a duration in seconds, or a number of requests. */
type Limit = { readonly seconds: number } | { readonly amount: number };

function fire(target: LoadTarget, connections: number, limit: Limit): Promise<autocannon.Result> {
  return autocannon({
    url: target.url,
    connections,
    ...('amount' in limit ? { amount: limit.amount } : { duration: limit.seconds }),
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // Static requests, each connection cycling through them all: autocannon builds each
    // buffer once, where setupRequest would rebuild 10 KB per request on the client's core.
    requests: target.bodies.map((body) => ({ method: 'POST', path: target.path, body })),
  });
}

/** Closed-loop load: `connections` keep-alive clients each sending the next request on reply. */
export async function runLoad(
  target: LoadTarget,
  connections: number,
  seconds: number,
  warmupSeconds: number,
  serverPid?: number,
  otherPids: Readonly<Record<string, number>> = {},
): Promise<LoadResult> {
  // Thrown away: it only warms the JIT, the sockets and the server's queues.
  if (warmupSeconds > 0) await fire(target, connections, { seconds: warmupSeconds });
  return measured(target, connections, { seconds }, serverPid, otherPids);
}

/** Closed-loop load until `amount` requests have been answered (no warm-up). */
export function runRequests(
  target: LoadTarget,
  connections: number,
  amount: number,
  serverPid?: number,
  otherPids: Readonly<Record<string, number>> = {},
): Promise<LoadResult> {
  return measured(target, connections, { amount }, serverPid, otherPids);
}

/** CPU seconds so far per pid; a process that cannot be read (gone, not ours) counts as undefined. */
async function cpuOf(pids: Readonly<Record<string, number>>): Promise<Record<string, number | undefined>> {
  const entries = await Promise.all(
    Object.entries(pids).map(async ([name, pid]) => [name, await cpuSeconds(pid).catch(() => undefined)] as const),
  );
  return Object.fromEntries(entries);
}

async function measured(
  target: LoadTarget,
  connections: number,
  limit: Limit,
  serverPid: number | undefined,
  otherPids: Readonly<Record<string, number>>,
): Promise<LoadResult> {
  const clientBefore = process.cpuUsage();
  const serverBefore = serverPid === undefined ? 0 : await cpuSeconds(serverPid);
  const othersBefore = await cpuOf(otherPids);
  const wallBefore = process.hrtime.bigint();
  const result = await fire(target, connections, limit);
  const wall = Number(process.hrtime.bigint() - wallBefore) / 1e9;
  const client = process.cpuUsage(clientBefore);
  const serverCpu = serverPid === undefined ? undefined : (await cpuSeconds(serverPid)) - serverBefore;
  const othersAfter = await cpuOf(otherPids);
  const otherCpuPercent: Record<string, number> = {};
  for (const [name, after] of Object.entries(othersAfter)) {
    const before = othersBefore[name];
    if (after !== undefined && before !== undefined) otherCpuPercent[name] = round(((after - before) / wall) * 100, 1);
  }
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
    clientCpuPercent: round(((client.user + client.system) / 1e6 / wall) * 100, 1),
    ...(serverCpu === undefined ? {} : { serverCpuPercent: round((serverCpu / wall) * 100, 1) }),
    ...(Object.keys(otherCpuPercent).length === 0 ? {} : { otherCpuPercent }),
  };
}
