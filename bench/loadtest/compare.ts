import type { LoadTestReport } from './report.js';

export interface FigureChange {
  readonly figure: string;
  readonly previous: number;
  readonly current: number;
  /** current / previous − 1; null when the previous figure was 0. */
  readonly relative: number | null;
  /** Whether this change is in the direction that is better for the figure. */
  readonly better: boolean | null;
}

const FIGURES: readonly { figure: string; read: (report: LoadTestReport) => number; higherIsBetter: boolean }[] = [
  { figure: 'throughput_rps', read: (r) => r.throughputRps, higherIsBetter: true },
  { figure: 'p50_ms', read: (r) => r.totals.latency.p50Ms, higherIsBetter: false },
  { figure: 'p95_ms', read: (r) => r.totals.latency.p95Ms, higherIsBetter: false },
  { figure: 'p99_ms', read: (r) => r.totals.latency.p99Ms, higherIsBetter: false },
  { figure: 'error_rate', read: (r) => r.totals.errorRate, higherIsBetter: false },
  { figure: 'gateway_overhead_mean_ms', read: (r) => r.breakdown?.gateway.meanMs ?? 0, higherIsBetter: false },
  { figure: 'queue_mean_ms', read: (r) => r.breakdown?.queue.meanMs ?? 0, higherIsBetter: false },
  { figure: 'compute_mean_ms', read: (r) => r.breakdown?.compute.meanMs ?? 0, higherIsBetter: false },
];

/** Each headline figure of `current` against the same figure of an earlier run. */
export function compareReports(previous: LoadTestReport, current: LoadTestReport): FigureChange[] {
  return FIGURES.map(({ figure, read, higherIsBetter }) => {
    const before = read(previous);
    const after = read(current);
    const relative = before === 0 ? null : after / before - 1;
    return { figure, previous: before, current: after, relative, better: after === before ? null : after > before === higherIsBetter };
  });
}

/** One line per figure, for the terminal and the markdown report. */
export function formatChange(change: FigureChange): string {
  const delta = change.relative === null ? 'n/a' : `${change.relative >= 0 ? '+' : ''}${(change.relative * 100).toFixed(1)} %`;
  const verdict = change.better === null ? 'same' : change.better ? 'better' : 'worse';
  return `${change.figure}: ${change.previous} → ${change.current} (${delta}, ${verdict})`;
}
