import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { drivePhase } from './autocannon-driver.js';
import { driveGrpcPhase } from './grpc-driver.js';
import { compareReports, type FigureChange } from './compare.js';
import { findKnee, type RampPoint } from './knee.js';
import type { LoadTestReport, PhaseReport } from './report.js';
import { prepareBodies } from './request-bodies.js';
import { RequestSchedule, type ScheduleEntry } from './request-schedule.js';
import { RunRecorder } from './run-recorder.js';
import { loadScenario, type LoadedScenario, type RequestMixEntry } from './scenario.js';
import { evaluateSlo, type MeasuredFigures } from './slo.js';
import { TargetClient } from './target-client.js';
import { writeReports, type ReportFiles } from './write-reports.js';

export interface LoadTestOptions {
  /** Base URL of the gateway, e.g. http://127.0.0.1:8080. */
  readonly target: string;
  /** A shipped scenario's name, a path to a scenario file, or one already loaded. */
  readonly scenario: string | LoadedScenario;
  /** API key, sent as `Authorization: Bearer`. */
  readonly key?: string;
  /** Overrides the scenario's duration_s. */
  readonly durationS?: number;
  /** Where report.json, report.md and report.html go; none written when absent. */
  readonly outDir?: string;
  /** A previous run's report.json to compare against. */
  readonly compareWith?: string;
  readonly log?: (line: string) => void;
  /** http (autocannon), grpc (unary ModelInfer) or grpc-stream (ModelStreamInfer); http by default. */
  readonly protocol?: LoadProtocol;
  /** host:port of the gRPC front end; the target's host on 8001 by default. */
  readonly grpcTarget?: string;
}

export const PROTOCOLS = ['http', 'grpc', 'grpc-stream'] as const;
export type LoadProtocol = (typeof PROTOCOLS)[number];

export interface LoadTestResult {
  readonly report: LoadTestReport;
  readonly files: ReportFiles | undefined;
  readonly comparison: readonly FigureChange[] | undefined;
}

export class OptionsError extends Error {
  override readonly name = 'OptionsError';
}

export async function runLoadTest(options: LoadTestOptions): Promise<LoadTestResult> {
  const target = checkTarget(options.target);
  if (options.durationS !== undefined && !(Number.isFinite(options.durationS) && options.durationS > 0))
    throw new OptionsError(`duration must be a positive number of seconds, not ${options.durationS}`);
  const loaded = typeof options.scenario === 'string' ? loadScenario(options.scenario) : options.scenario;
  const previous = options.compareWith === undefined ? undefined : readPreviousReport(options.compareWith);
  const { scenario } = loaded;
  const log = options.log ?? (() => undefined);
  const durationS = options.durationS ?? scenario.duration_s;
  const protocol = options.protocol ?? 'http';
  const grpcAddress = options.grpcTarget ?? `${new URL(target).hostname}:8001`;

  const keyOf = (entry: RequestMixEntry): string | undefined => tenantKey(entry, options.key);
  const client = new TargetClient(target, options.key ?? scenario.requests.map(keyOf).find((key) => key !== undefined));
  const entries: (ScheduleEntry & { tenant?: string })[] = await Promise.all(
    scenario.requests.map(async (entry) => {
      const key = keyOf(entry);
      return {
        kind: kindName(entry),
        weight: entry.weight,
        requests: await prepareBodies(entry, client, loaded.dir),
        ...(entry.idempotency ? { idempotencyRepeats: entry.idempotency.repeats } : {}),
        headers: { ...(key !== undefined ? { authorization: `Bearer ${key}` } : {}), ...entry.headers },
        ...(entry.tenant !== undefined ? { tenant: entry.tenant } : {}),
      };
    }),
  );
  const schedule = new RequestSchedule(entries, {});
  // A phase split by tenant drives each tenant's entries on its own connections.
  const tenantSchedules = new Map<string, RequestSchedule>();
  for (const tenant of new Set(entries.map((entry) => entry.tenant).filter((t): t is string => t !== undefined))) {
    tenantSchedules.set(
      tenant,
      new RequestSchedule(
        entries.filter((entry) => entry.tenant === tenant),
        {},
      ),
    );
  }

  const recorder = new RunRecorder();
  const startedAt = new Date();
  const shares = scenario.phases.reduce((sum, phase) => sum + phase.share, 0);
  const phaseReports: PhaseReport[] = [];
  for (const [index, phase] of scenario.phases.entries()) {
    const phaseS = (durationS * phase.share) / shares;
    log(
      `phase ${index + 1}/${scenario.phases.length}: ${phase.connections} connections${phase.rate ? `, ${phase.rate} req/s` : ''}, ${phaseS.toFixed(1)} s`,
    );
    recorder.startPhase(index);
    const load = { target, connections: phase.connections, rate: phase.rate, durationS: phaseS, timeoutS: scenario.timeout_s };
    const drive = (connections: number, phaseSchedule: RequestSchedule) =>
      protocol === 'http'
        ? drivePhase({ ...load, connections }, phaseSchedule, recorder)
        : driveGrpcPhase(
            {
              ...load,
              connections,
              grpcAddress,
              streaming: protocol === 'grpc-stream',
              ...(options.key !== undefined ? { key: options.key } : {}),
            },
            phaseSchedule,
            recorder,
          );
    const split = Object.entries(phase.tenants ?? {});
    const driven =
      split.length === 0
        ? [await drive(phase.connections, schedule)]
        : await Promise.all(split.map(([tenant, connections]) => drive(connections, tenantSchedules.get(tenant)!)));
    const activeS = Math.max(...driven.map((result) => result.activeS));
    const totals = recorder.phases[index]!.summary();
    const kinds = [...recorder.phaseKinds[index]!].map(([kind, tally]) => ({
      kind,
      totals: tally.summary(),
      breakdown: tally.breakdown() ?? null,
    }));
    phaseReports.push({
      phase: index,
      connections: phase.connections,
      rate: phase.rate ?? null,
      ...(phase.tenants ? { tenants: phase.tenants } : {}),
      durationS: round(activeS),
      throughputRps: round((totals.outcomes.ok + totals.outcomes.replayed) / activeS),
      totals,
      kinds,
    });
  }
  const actualS = phaseReports.reduce((sum, phase) => sum + phase.durationS, 0);

  const totals = recorder.total.summary();
  const throughputRps = round((totals.outcomes.ok + totals.outcomes.replayed) / actualS);
  const points: RampPoint[] = phaseReports.map((phase) => ({
    phase: phase.phase,
    connections: phase.connections,
    throughputRps: phase.throughputRps,
    p95Ms: phase.totals.latency.p95Ms,
  }));
  const knee = scenario.find_knee ? findKnee(points, scenario.slo.p95_ms!) : null;
  const measured = verdictFigures(scenario.find_knee, knee, phaseReports, {
    p95Ms: totals.latency.p95Ms,
    p99Ms: totals.latency.p99Ms,
    errorRate: totals.errorRate,
    throughputRps,
  });

  const report: LoadTestReport = {
    schema: 1,
    scenario: {
      name: scenario.name,
      description: scenario.description,
      file: relative(process.cwd(), loaded.file) || loaded.file,
      findKnee: scenario.find_knee,
    },
    target: protocol === 'http' ? target : `${protocol}://${grpcAddress}`,
    startedAt: startedAt.toISOString(),
    durationS: round(actualS),
    throughputRps,
    totals,
    breakdown: recorder.total.breakdown() ?? null,
    phases: phaseReports,
    kinds: [...recorder.kinds].map(([kind, tally]) => ({
      kind,
      totals: tally.summary(),
      ...(kind.startsWith('task ') ? { needsReview: recorder.taskReviews.get(kind) ?? 0 } : {}),
    })),
    windows: recorder.windows(),
    served: recorder.served.summary(),
    knee,
    slo: evaluateSlo(scenario.slo, measured),
    notes: notesFor(
      scenario.find_knee,
      scenario.phases.some((phase) => phase.rate !== undefined),
    ),
  };
  const comparison = previous ? compareReports(previous, report) : undefined;
  const files = options.outDir === undefined ? undefined : await writeReports(options.outDir, report, comparison);
  return { report, files, comparison };
}

function checkTarget(target: string): string {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new OptionsError(`target must be a URL such as http://127.0.0.1:8080, not "${target}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new OptionsError(`target must be an http:// or https:// URL, not "${target}"`);
  return url.origin;
}

function readPreviousReport(file: string): LoadTestReport {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8')) as LoadTestReport;
    if (report.schema !== 1) throw new Error('not a load-test report (schema 1)');
    return report;
  } catch (error) {
    throw new OptionsError(`--compare ${file}: ${(error as Error).message}`);
  }
}

/** A tenant entry's key: from its environment variable, else the run's. */
function tenantKey(entry: RequestMixEntry, runKey: string | undefined): string | undefined {
  if (entry.key_env === undefined) return runKey;
  const key = process.env[entry.key_env];
  if (!key) throw new OptionsError(`tenant ${entry.tenant ?? entry.model}: environment variable ${entry.key_env} (its API key) is not set`);
  return key;
}

function kindName(entry: RequestMixEntry): string {
  if (entry.tenant !== undefined) return `tenant ${entry.tenant}: ${kindName({ ...entry, tenant: undefined })}`;
  if (entry.task) return `task ${entry.model}${entry.query ? ` ${new URLSearchParams(entry.query).toString()}` : ''}`;
  const model = entry.version === undefined ? entry.model : `${entry.model} v${entry.version}`;
  const body = entry.body.from === 'metadata' ? '' : ` (${entry.body.from})`;
  return `${model}${body}${entry.idempotency ? ` ×${entry.idempotency.repeats} per key` : ''}`;
}

/** A ramp is judged at its knee: the SLO's p95 picks it, the other SLOs must hold there. */
function verdictFigures(
  findKneeOn: boolean,
  knee: RampPoint | null,
  phases: readonly PhaseReport[],
  whole: MeasuredFigures,
): MeasuredFigures {
  if (!findKneeOn) return whole;
  if (knee === null) return { ...whole, throughputRps: 0 };
  const phase = phases[knee.phase]!;
  return {
    p95Ms: phase.totals.latency.p95Ms,
    p99Ms: phase.totals.latency.p99Ms,
    errorRate: phase.totals.errorRate,
    throughputRps: phase.throughputRps,
  };
}

function notesFor(ramp: boolean, openLoop: boolean): string[] {
  const notes = [
    'Latency percentiles are over 2xx answers, measured by the client; gateway overhead = X-Server-Ms − X-Queue-Ms − X-Compute-Ms; network and client = client latency − X-Server-Ms.',
  ];
  if (openLoop)
    notes.push('Fixed-rate phases correct for coordinated omission: a late answer also records the latencies of the sends it held back.');
  if (ramp) notes.push('Ramp: the SLO verdict is taken at the knee (the phase with the most throughput whose p95 met the SLO).');
  return notes;
}

const round = (value: number): number => Math.round(value * 100) / 100;
