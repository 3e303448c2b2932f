import { runLoad, type LoadResult, type LoadTarget } from './load.js';
import { median, round } from './stats.js';

/** One embedded run and the distributed run right after it, seconds apart. */
export interface PairedRound {
  readonly embedded: LoadResult;
  readonly distributed: LoadResult;
  /** distributed / embedded throughput of this pair. */
  readonly ratio: number;
}

export interface PairedRounds {
  readonly connections: number;
  readonly secondsPerRun: number;
  readonly rounds: readonly PairedRound[];
  /** The median of the rounds' ratios: what the distributed throughput target is judged on. */
  readonly medianRatio: number;
}

export interface PairedSide {
  readonly target: LoadTarget;
  /** Whose CPU is reported as the server's (the gateway). */
  readonly serverPid: number;
  /** Other processes whose CPU is reported (worker, redis-server). */
  readonly otherPids?: Readonly<Record<string, number>>;
}

/**
 * Throughput of two stacks measured in alternating runs, both up at once (the idle one
 * costs nothing), so each ratio compares runs seconds apart: on a shared machine whose
 * speed drifts by 20 % or more within minutes, runs minutes apart measure the machine.
 */
export async function measurePairedRounds(
  embedded: PairedSide,
  distributed: PairedSide,
  options: { readonly rounds: number; readonly seconds: number; readonly warmupSeconds: number; readonly connections: number },
  onRound: (round: PairedRound, index: number) => void = () => undefined,
): Promise<PairedRounds> {
  const { rounds: count, seconds, warmupSeconds, connections } = options;
  await runLoad(embedded.target, connections, warmupSeconds, 0);
  await runLoad(distributed.target, connections, warmupSeconds, 0);
  const rounds: PairedRound[] = [];
  for (let index = 0; index < count; index += 1) {
    const e = await runLoad(embedded.target, connections, seconds, 0, embedded.serverPid, embedded.otherPids);
    const d = await runLoad(distributed.target, connections, seconds, 0, distributed.serverPid, distributed.otherPids);
    const pair: PairedRound = { embedded: e, distributed: d, ratio: e.requestsPerSecond > 0 ? round(d.requestsPerSecond / e.requestsPerSecond, 3) : 0 };
    rounds.push(pair);
    onRound(pair, index);
  }
  return { connections, secondsPerRun: seconds, rounds, medianRatio: round(median(rounds.map((r) => r.ratio)), 3) };
}
