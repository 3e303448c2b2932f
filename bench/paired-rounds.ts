import { runLoad, type LoadResult, type LoadTarget } from './load.js';
import { median, round } from './stats.js';
import { inTurn } from './in-turn.js';

/** One embedded run and one distributed run, seconds apart (either first). */
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

/** distributed / embedded throughput, to three places; 0 when the embedded run answered nothing. */
export function pairRatio(embeddedPerSecond: number, distributedPerSecond: number): number {
  return embeddedPerSecond > 0 ? round(distributedPerSecond / embeddedPerSecond, 3) : 0;
}

/** The median of the rounds' (rounded) ratios, rounded again to three places. */
export function medianRatio(ratios: readonly number[]): number {
  return round(median(ratios), 3);
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
    const runEmbedded = () => runLoad(embedded.target, connections, seconds, 0, embedded.serverPid, embedded.otherPids);
    const runDistributed = () => runLoad(distributed.target, connections, seconds, 0, distributed.serverPid, distributed.otherPids);
    const [e, d] = await inTurn(index, runEmbedded, runDistributed);
    const pair: PairedRound = { embedded: e, distributed: d, ratio: pairRatio(e.requestsPerSecond, d.requestsPerSecond) };
    rounds.push(pair);
    onRound(pair, index);
  }
  return { connections, secondsPerRun: seconds, rounds, medianRatio: medianRatio(rounds.map((r) => r.ratio)) };
}
