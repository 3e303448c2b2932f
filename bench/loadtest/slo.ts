import type { SloSpec } from './scenario.js';

export interface SloCheck {
  readonly name: 'p95_ms' | 'p99_ms' | 'max_error_rate' | 'min_throughput_rps';
  /** A ceiling holds when the measured figure is at most the limit; a floor, at least. */
  readonly bound: 'ceiling' | 'floor';
  readonly limit: number;
  readonly actual: number;
  readonly pass: boolean;
}

export interface SloVerdict {
  readonly pass: boolean;
  readonly checks: readonly SloCheck[];
}

export interface MeasuredFigures {
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly errorRate: number;
  readonly throughputRps: number;
}

/** Checks each SLO the scenario sets; no SLO at all passes (there is nothing to gate on). */
export function evaluateSlo(slo: SloSpec, measured: MeasuredFigures): SloVerdict {
  const checks: SloCheck[] = [];
  const atMost = (name: SloCheck['name'], limit: number | undefined, actual: number): void => {
    if (limit !== undefined) checks.push({ name, bound: 'ceiling', limit, actual, pass: actual <= limit });
  };
  atMost('p95_ms', slo.p95_ms, measured.p95Ms);
  atMost('p99_ms', slo.p99_ms, measured.p99Ms);
  atMost('max_error_rate', slo.max_error_rate, measured.errorRate);
  if (slo.min_throughput_rps !== undefined) {
    checks.push({
      name: 'min_throughput_rps',
      bound: 'floor',
      limit: slo.min_throughput_rps,
      actual: measured.throughputRps,
      pass: measured.throughputRps >= slo.min_throughput_rps,
    });
  }
  return { pass: checks.every((check) => check.pass), checks };
}

/** The limit as a reader should take it: `≤ 50 (ceiling)` or `≥ 800 (floor)`. */
export function formatLimit(check: SloCheck): string {
  return check.bound === 'ceiling' ? `≤ ${check.limit} (ceiling)` : `≥ ${check.limit} (floor)`;
}
