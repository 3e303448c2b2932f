import { median, round } from '../stats.js';
import { runExplainers, runLive, type LiveResult, type LiveTraffic } from './live-traffic.js';

export interface SideBySideRound {
  readonly alone: LiveResult;
  readonly beside: LiveResult;
  readonly explanationsPerSecond: number;
  readonly rowsPerExplanation: number;
  readonly explainFailures: number;
}

export interface SideBySide {
  readonly model: string;
  readonly livePerSecond: number;
  readonly secondsPerRun: number;
  readonly rounds: readonly SideBySideRound[];
  readonly medianAloneP95Ms: number;
  readonly medianBesideP95Ms: number;
  /** The median of the rounds' beside / alone ratios (each pair seconds apart): the target is at most 1.2. */
  readonly p95Ratio: number;
  /** Live requests' queue wait p95 in the gateway (median of rounds), alone and beside. */
  readonly medianAloneQueueP95Ms: number;
  readonly medianBesideQueueP95Ms: number;
  /** Median share of live requests beside explanations that ran in a batch with other rows. */
  readonly besideSharedBatchShare: number;
  readonly explanationsPerSecond: number;
  readonly rowsPerExplanation: number;
}

/**
 * Live p95 alone and with explanations running beside it, in alternating runs seconds apart
 * (the machine is shared: runs minutes apart would measure its drift, not the explanations).
 */
export async function sideBySide(
  model: string,
  live: LiveTraffic,
  explain: { url: string; body: Buffer | string; contentType: string; lanes: number },
  options: { rounds: number; seconds: number },
  log: (line: string) => void,
): Promise<SideBySide> {
  const rounds: SideBySideRound[] = [];
  for (let i = 0; i < options.rounds; i += 1) {
    const alone = await runLive(live, options.seconds);
    let done = false;
    const explainers = runExplainers(explain.url, explain.body, explain.contentType, explain.lanes, () => done);
    const startedAt = performance.now();
    const beside = await runLive(live, options.seconds);
    done = true;
    const explained = await explainers;
    const elapsed = (performance.now() - startedAt) / 1000;
    const round_ = {
      alone,
      beside,
      explanationsPerSecond: round(explained.explanations / elapsed, 2),
      rowsPerExplanation: explained.explanations > 0 ? round(explained.rows / explained.explanations, 1) : 0,
      explainFailures: explained.failed,
    };
    rounds.push(round_);
    log(
      `${model} round ${i + 1}: live p95 alone ${alone.p95Ms} ms, beside explanations ${beside.p95Ms} ms (queue p95 ${alone.queueP95Ms} / ${beside.queueP95Ms} ms, ${beside.sharedBatchShare} in shared batches); ${round_.explanationsPerSecond} explanations/s of ${round_.rowsPerExplanation} rows`,
    );
  }
  const medianAloneP95Ms = round(median(rounds.map((r) => r.alone.p95Ms)), 2);
  const medianBesideP95Ms = round(median(rounds.map((r) => r.beside.p95Ms)), 2);
  return {
    model,
    livePerSecond: live.perSecond,
    secondsPerRun: options.seconds,
    rounds,
    medianAloneP95Ms,
    medianBesideP95Ms,
    p95Ratio: round(median(rounds.map((r) => r.beside.p95Ms / r.alone.p95Ms)), 3),
    medianAloneQueueP95Ms: round(median(rounds.map((r) => r.alone.queueP95Ms)), 2),
    medianBesideQueueP95Ms: round(median(rounds.map((r) => r.beside.queueP95Ms)), 2),
    besideSharedBatchShare: round(median(rounds.map((r) => r.beside.sharedBatchShare)), 3),
    explanationsPerSecond: round(median(rounds.map((r) => r.explanationsPerSecond)), 2),
    rowsPerExplanation: round(median(rounds.map((r) => r.rowsPerExplanation)), 1),
  };
}
