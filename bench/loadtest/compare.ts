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

/** undefined: the report has no such figure (no timing headers, or a report from before the figure existed). */
const FIGURES: readonly { figure: string; read: (report: LoadTestReport) => number | undefined; higherIsBetter: boolean }[] = [
  { figure: 'throughput_rps', read: (r) => r.throughputRps, higherIsBetter: true },
  { figure: 'p50_ms', read: (r) => r.totals.latency.p50Ms, higherIsBetter: false },
  { figure: 'p95_ms', read: (r) => r.totals.latency.p95Ms, higherIsBetter: false },
  { figure: 'p99_ms', read: (r) => r.totals.latency.p99Ms, higherIsBetter: false },
  { figure: 'error_rate', read: (r) => r.totals.errorRate, higherIsBetter: false },
  { figure: 'gateway_overhead_mean_ms', read: (r) => r.breakdown?.gateway.meanMs, higherIsBetter: false },
  { figure: 'queue_mean_ms', read: (r) => r.breakdown?.queue.meanMs, higherIsBetter: false },
  { figure: 'compute_mean_ms', read: (r) => r.breakdown?.compute.meanMs, higherIsBetter: false },
  // Reports from before X-Server-Ms have no network part.
  { figure: 'network_mean_ms', read: (r) => r.breakdown?.network?.meanMs, higherIsBetter: false },
];

/** Each headline figure of `current` against the same figure of an earlier run; figures either run lacks are left out. */
export function compareReports(previous: LoadTestReport, current: LoadTestReport): FigureChange[] {
  return FIGURES.flatMap(({ figure, read, higherIsBetter }) => {
    const before = read(previous);
    const after = read(current);
    if (before === undefined || after === undefined) return [];
    const relative = before === 0 ? null : after / before - 1;
    return [{ figure, previous: before, current: after, relative, better: after === before ? null : after > before === higherIsBetter }];
  });
}

/** One line per figure, for the terminal and the markdown report. */
export function formatChange(change: FigureChange): string {
  const delta = change.relative === null ? 'n/a' : `${change.relative >= 0 ? '+' : ''}${(change.relative * 100).toFixed(1)} %`;
  const verdict = change.better === null ? 'same' : change.better ? 'better' : 'worse';
  return `${change.figure}: ${change.previous} → ${change.current} (${delta}, ${verdict})`;
}
