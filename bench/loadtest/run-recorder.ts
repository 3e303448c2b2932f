import { ServedTally } from './served-by.js';
import { Tally, type ResponseSample, type TallySummary } from './tally.js';

export interface WindowSummary {
  /** Seconds since the run began (the window's start). */
  readonly t: number;
  readonly phase: number;
  /** Cut short by the end of the run: its rate is over less than a second, so charts leave it out. */
  readonly partial: boolean;
  readonly answered: number;
  readonly throughputRps: number;
  readonly refused: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly meanGatewayMs: number;
  readonly meanQueueMs: number;
  readonly meanComputeMs: number;
  readonly meanNetworkMs: number;
}

const WINDOW_MS = 1000;

/** Files every answer under the run, its phase, its request kind and its one-second window. */
export class RunRecorder {
  readonly total = new Tally(true);
  /** Versions and batch sizes of first answers (replays computed nothing). */
  readonly served = new ServedTally();
  readonly phases: Tally[] = [];
  readonly kinds = new Map<string, Tally>();
  /** Per phase, per kind: a tenant's latency alone and beside a noisy neighbour. */
  readonly phaseKinds: Map<string, Tally>[] = [];
  /** Task answers per kind that wait for human review (status needs_review): a moderation run's review rate. */
  readonly taskReviews = new Map<string, number>();
  readonly #windows = new Map<number, { phase: number; tally: Tally }>();
  readonly #startedAt = performance.now();
  #phase = 0;

  startPhase(index: number): void {
    this.#phase = index;
    this.phases[index] = new Tally(false);
    this.phaseKinds[index] = new Map();
  }

  recordSent(): void {
    this.total.sent += 1;
    this.phases[this.#phase]!.sent += 1;
  }

  recordResponse(kind: string, sample: ResponseSample): void {
    for (const tally of this.#tallies(kind)) tally.recordResponse(sample);
    if (sample.served && sample.outcome === 'ok') this.served.record(sample.served);
  }

  recordTaskReview(kind: string): void {
    this.taskReviews.set(kind, (this.taskReviews.get(kind) ?? 0) + 1);
  }

  recordTransportError(kind: string, timeout: boolean): void {
    for (const tally of this.#tallies(kind)) {
      tally.transportErrors += 1;
      if (timeout) tally.timeouts += 1;
    }
  }

  #tallies(kind: string): Tally[] {
    let byKind = this.kinds.get(kind);
    if (!byKind) this.kinds.set(kind, (byKind = new Tally(false)));
    const phaseKinds = this.phaseKinds[this.#phase]!;
    let inPhase = phaseKinds.get(kind);
    if (!inPhase) phaseKinds.set(kind, (inPhase = new Tally(true)));
    return [this.total, this.phases[this.#phase]!, byKind, inPhase, this.#window()];
  }

  #window(): Tally {
    const index = Math.floor((performance.now() - this.#startedAt) / WINDOW_MS);
    let window = this.#windows.get(index);
    if (!window) this.#windows.set(index, (window = { phase: this.#phase, tally: new Tally(false) }));
    return window.tally;
  }

  /** Every second from the first to the last, empty ones included, so gaps show on the charts. */
  windows(): WindowSummary[] {
    const last = Math.max(-1, ...this.#windows.keys());
    const elapsedMs = performance.now() - this.#startedAt;
    const out: WindowSummary[] = [];
    for (let index = 0; index <= last; index += 1) {
      const window = this.#windows.get(index);
      // The last window is usually cut short: its rate is over the part that ran.
      const lengthS = Math.max(0.001, Math.min(WINDOW_MS, elapsedMs - index * WINDOW_MS) / 1000);
      out.push(summarizeWindow(index, lengthS, window?.phase ?? out.at(-1)?.phase ?? 0, window?.tally.summary(), window?.tally));
    }
    return out;
  }
}

/** Shorter than this, a window is partial: a few answers over a few ms would chart as a burst or a collapse. */
const FULL_WINDOW_S = 0.95;

function summarizeWindow(
  index: number,
  lengthS: number,
  phase: number,
  summary: TallySummary | undefined,
  tally: Tally | undefined,
): WindowSummary {
  const ok = summary ? summary.outcomes.ok + summary.outcomes.replayed : 0;
  const n = tally?.breakdownSamples ?? 0;
  const mean = (sum: number): number => (n === 0 ? 0 : Math.round((sum / n) * 1000) / 1000);
  return {
    t: (index * WINDOW_MS) / 1000,
    phase,
    partial: lengthS < FULL_WINDOW_S,
    answered: summary?.answered ?? 0,
    throughputRps: Math.round((ok / lengthS) * 10) / 10,
    refused: summary
      ? summary.outcomes.rate_limited + summary.outcomes.budget_exceeded + summary.outcomes.unavailable + summary.outcomes.in_progress
      : 0,
    errors: summary?.errors ?? 0,
    p50Ms: summary?.latency.p50Ms ?? 0,
    p95Ms: summary?.latency.p95Ms ?? 0,
    p99Ms: summary?.latency.p99Ms ?? 0,
    meanGatewayMs: mean(tally?.breakdownSums.gatewayMs ?? 0),
    meanQueueMs: mean(tally?.breakdownSums.queueMs ?? 0),
    meanComputeMs: mean(tally?.breakdownSums.computeMs ?? 0),
    meanNetworkMs: mean(tally?.breakdownSums.networkMs ?? 0),
  };
}
