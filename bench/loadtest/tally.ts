import { BREAKDOWN_PARTS, type LatencyBreakdown } from './header-breakdown.js';
import { LatencyHistogram, type LatencySummary } from './latency-histogram.js';
import { ERROR_OUTCOMES, OUTCOMES, type Outcome } from './outcomes.js';
import type { ServedBy } from './served-by.js';

/** One answered request, as the driver saw it. */
export interface ResponseSample {
  readonly latencyMs: number;
  readonly status: number;
  readonly outcome: Outcome;
  readonly code: string | undefined;
  readonly breakdown: LatencyBreakdown | undefined;
  /** The version and batch size the answer's headers name; undefined for errors and other servers. */
  readonly served?: ServedBy;
  /** Open-loop phases: the gap between a connection's scheduled sends, for omission correction. */
  readonly expectedIntervalMs: number;
}

export interface BreakdownSummary {
  readonly samples: number;
  readonly gateway: ComponentSummary;
  readonly queue: ComponentSummary;
  readonly compute: ComponentSummary;
  /** What the client saw beyond X-Server-Ms: the network and the client itself. */
  readonly network: ComponentSummary;
}

export interface ComponentSummary {
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly sumMs: number;
}

export interface TallySummary {
  readonly sent: number;
  readonly answered: number;
  readonly transportErrors: number;
  readonly timeouts: number;
  readonly outcomes: Record<Outcome, number>;
  readonly statusCodes: Record<string, number>;
  readonly errorCodes: Record<string, number>;
  readonly errors: number;
  /** Errors (and transport failures) over everything sent. */
  readonly errorRate: number;
  /** 2xx answers only: refusals are fast and would flatter the figures. */
  readonly latency: LatencySummary;
}

/** Counts and latencies of a set of requests: the whole run, one phase, one window, one request kind. */
export class Tally {
  sent = 0;
  transportErrors = 0;
  timeouts = 0;
  readonly outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  readonly statusCodes = new Map<number, number>();
  readonly errorCodes = new Map<string, number>();
  readonly latency = new LatencyHistogram();
  readonly #components: Record<keyof LatencyBreakdown, LatencyHistogram> | undefined;
  #breakdownSamples = 0;
  readonly breakdownSums = { gatewayMs: 0, queueMs: 0, computeMs: 0, networkMs: 0 };

  /** Breakdown histograms are kept only where asked: a window needs means, not percentiles. */
  constructor(readonly withBreakdown: boolean) {
    this.#components = withBreakdown
      ? {
          gatewayMs: new LatencyHistogram(),
          queueMs: new LatencyHistogram(),
          computeMs: new LatencyHistogram(),
          networkMs: new LatencyHistogram(),
        }
      : undefined;
  }

  recordResponse(sample: ResponseSample): void {
    this.outcomes[sample.outcome] += 1;
    this.statusCodes.set(sample.status, (this.statusCodes.get(sample.status) ?? 0) + 1);
    if (sample.code !== undefined && sample.status >= 400) this.errorCodes.set(sample.code, (this.errorCodes.get(sample.code) ?? 0) + 1);
    if (sample.status >= 200 && sample.status < 300) this.latency.recordCorrected(sample.latencyMs, sample.expectedIntervalMs);
    // Replays carry the original's timings: they queued and computed nothing this time.
    if (sample.breakdown && sample.outcome === 'ok') {
      this.#breakdownSamples += 1;
      for (const part of BREAKDOWN_PARTS) {
        this.breakdownSums[part] += sample.breakdown[part];
        this.#components?.[part].record(Math.max(0, sample.breakdown[part]));
      }
    }
  }

  get answered(): number {
    let total = 0;
    for (const count of this.statusCodes.values()) total += count;
    return total;
  }

  get errors(): number {
    let total = this.transportErrors;
    for (const outcome of ERROR_OUTCOMES) total += this.outcomes[outcome];
    return total;
  }

  get breakdownSamples(): number {
    return this.#breakdownSamples;
  }

  summary(): TallySummary {
    const sent = Math.max(this.sent, this.answered + this.transportErrors);
    return {
      sent,
      answered: this.answered,
      transportErrors: this.transportErrors,
      timeouts: this.timeouts,
      outcomes: { ...this.outcomes },
      statusCodes: Object.fromEntries([...this.statusCodes].sort(([a], [b]) => a - b).map(([status, count]) => [String(status), count])),
      errorCodes: Object.fromEntries(this.errorCodes),
      errors: this.errors,
      errorRate: sent === 0 ? 0 : this.errors / sent,
      latency: this.latency.summary(),
    };
  }

  breakdown(): BreakdownSummary | undefined {
    const components = this.#components;
    if (!components || this.#breakdownSamples === 0) return undefined;
    const n = this.#breakdownSamples;
    const r = (ms: number): number => Math.round(ms * 1000) / 1000;
    const part = (key: keyof LatencyBreakdown): ComponentSummary => ({
      meanMs: r(this.breakdownSums[key] / n),
      p50Ms: r(components[key].percentile(50)),
      p95Ms: r(components[key].percentile(95)),
      sumMs: r(this.breakdownSums[key]),
    });
    return { samples: n, gateway: part('gatewayMs'), queue: part('queueMs'), compute: part('computeMs'), network: part('networkMs') };
  }
}
