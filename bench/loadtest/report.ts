import type { RampPoint } from './knee.js';
import type { WindowSummary } from './run-recorder.js';
import type { ServedSummary } from './served-by.js';
import type { SloVerdict } from './slo.js';
import type { BreakdownSummary, TallySummary } from './tally.js';

/** The machine-readable result of one run: what report.json holds and every writer reads. */
export interface LoadTestReport {
  readonly schema: 1;
  readonly scenario: { readonly name: string; readonly description: string; readonly file: string; readonly findKnee: boolean };
  readonly target: string;
  readonly startedAt: string;
  readonly durationS: number;
  /** 2xx answers (replays included) per second over the run. */
  readonly throughputRps: number;
  readonly totals: TallySummary;
  readonly breakdown: BreakdownSummary | null;
  readonly phases: readonly PhaseReport[];
  readonly kinds: readonly KindReport[];
  readonly windows: readonly WindowSummary[];
  /** Versions that answered and the batch sizes they ran in (absent in reports that predate it). */
  readonly served?: ServedSummary;
  /** Ramp runs (find_knee): the phase with the most throughput whose p95 met the SLO. */
  readonly knee: RampPoint | null;
  readonly slo: SloVerdict;
  readonly notes: readonly string[];
}

export interface PhaseReport {
  readonly phase: number;
  readonly connections: number;
  readonly rate: number | null;
  /** Connections per tenant, when the phase was split by tenant. */
  readonly tenants?: Readonly<Record<string, number>>;
  readonly durationS: number;
  readonly throughputRps: number;
  readonly totals: TallySummary;
  /** Each request kind in this phase (a tenant's kinds are named `tenant NAME: …`), with its latency breakdown. */
  readonly kinds?: readonly (KindReport & { readonly breakdown: BreakdownSummary | null })[];
}

export interface KindReport {
  readonly kind: string;
  readonly totals: TallySummary;
  /** Task kinds: answers whose task waits for human review. */
  readonly needsReview?: number;
}

export const OUTCOME_LABELS = {
  ok: '2xx',
  replayed: '2xx replayed (Idempotent-Replayed)',
  rate_limited: '429 rate limited',
  budget_exceeded: '429 budget exceeded',
  unavailable: '503 unavailable (queue full, not ready, timeout)',
  in_progress: '409 idempotency in progress',
  client_error: 'other 4xx (errors)',
  server_error: '5xx but 503 (errors)',
} as const;
