import { arch, cpus, platform, release } from 'node:os';
import type { ModelConfig } from '../repository/model-config.js';
import { eligible, type Trial } from './search.js';
import type { TuneResult } from './tune-model.js';

type TunedBlock = ModelConfig['tuned'][string][string];

const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** The `tuned` entry for the chosen configuration, as config.json holds it. */
export function tunedBlock(result: TuneResult, date: string): TunedBlock {
  const chosen = result.chosen;
  if (!chosen?.measured) throw new Error('no configuration was measured successfully: nothing to record');
  const { candidate, measured } = chosen;
  return {
    instance_count: candidate.instanceCount,
    intra_op_threads: candidate.intraOpThreads,
    max_batch_size: candidate.maxBatchSize,
    preferred_batch_sizes: [...candidate.preferredBatchSizes],
    max_queue_delay_ms: candidate.maxQueueDelayMs,
    provider: result.provider,
    measured: {
      throughput_per_s: round(measured.throughput),
      p50_ms: round(measured.p50Ms),
      p95_ms: round(measured.p95Ms),
      latency_budget_ms: result.latencyBudgetMs,
      concurrency: result.concurrency,
      date,
    },
  };
}

function describe(trial: Trial): string {
  const c = trial.candidate;
  const preferred = c.preferredBatchSizes.length ? ` pref [${c.preferredBatchSizes.join(',')}]` : '';
  const unbatched = c.maxBatchSize === 1 ? 'unbatched' : 'no batch dim';
  const batching = c.maxBatchSize > 1 ? `batch ${c.maxBatchSize}${preferred} delay ${c.maxQueueDelayMs} ms` : unbatched;
  return `${c.instanceCount} x ${c.intraOpThreads} thr, ${batching}`;
}

function verdict(trial: Trial, result: TuneResult): string {
  if (trial.error) return `failed: ${trial.error}`;
  const m = trial.measured!;
  if (trial === result.chosen) return eligible(trial, result.latencyBudgetMs) ? 'CHOSEN' : 'CHOSEN (none met the budget: lowest p95)';
  if (m.stoppedEarly) return `stopped early: ${m.stoppedEarly}`;
  if (m.failures > 0) return `${m.failures} failed`;
  if (m.p95Ms > result.latencyBudgetMs) return 'over budget';
  return '';
}

interface Row {
  readonly stage: string;
  readonly configuration: string;
  readonly throughput: string;
  readonly p50: string;
  readonly p95: string;
  readonly cpu: string;
  readonly cap: string;
  readonly batch: string;
  readonly note: string;
}

function rows(result: TuneResult): Row[] {
  return result.trials.map((trial) => ({
    stage: trial.stage,
    configuration: describe(trial),
    throughput: trial.measured ? round(trial.measured.throughput).toFixed(1) : '-',
    p50: trial.measured ? round(trial.measured.p50Ms).toFixed(1) : '-',
    p95: trial.measured ? round(trial.measured.p95Ms).toFixed(1) : '-',
    cpu: trial.measured?.cpuMsPerRequest !== undefined ? round(trial.measured.cpuMsPerRequest, 2).toFixed(2) : '-',
    cap: trial.batchCap !== undefined ? String(trial.batchCap) : '-',
    batch: trial.measured ? round(trial.measured.meanBatchRows).toFixed(1) : '-',
    note: verdict(trial, result),
  }));
}

const HEADERS: Row = {
  stage: 'stage',
  configuration: 'instances x threads, batching',
  throughput: 'req/s',
  p50: 'p50 ms',
  p95: 'p95 ms',
  cpu: 'CPU ms/req',
  cap: 'batch cap',
  batch: 'rows/batch',
  note: '',
};
const COLUMNS = Object.keys(HEADERS) as (keyof Row)[];

/** Fixed-width table for the terminal. */
export function consoleTable(result: TuneResult): string {
  const all = [HEADERS, ...rows(result)];
  const widths = COLUMNS.map((column) => Math.max(...all.map((row) => row[column].length)));
  return all
    .map((row) =>
      COLUMNS.map((column, i) => row[column].padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function machine(result: TuneResult) {
  return {
    hardware_key: result.hardwareKey,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: result.hardware.cpu.replace(/^.* x(\d+)$/, '$1'),
    gpus: result.hardware.gpus,
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
  };
}

export function reportJson(result: TuneResult, date: string): Record<string, unknown> {
  const configured = result.trials.find((trial) => trial.stage === 'configured')?.measured;
  const chosen = result.chosen?.measured;
  return {
    model: result.definition.name,
    version: result.version,
    date,
    machine: machine(result),
    provider: result.provider,
    latency_budget_ms: result.latencyBudgetMs,
    concurrency: result.concurrency,
    elapsed_s: round(result.elapsedMs / 1000),
    chosen: result.chosen ? tunedBlock(result, date) : null,
    ...(configured && chosen ? { speedup_over_configured: round(chosen.throughput / configured.throughput, 2) } : {}),
    configurations: result.trials.map((trial) => ({
      stage: trial.stage,
      instance_count: trial.candidate.instanceCount,
      intra_op_threads: trial.candidate.intraOpThreads,
      max_batch_size: trial.candidate.maxBatchSize,
      preferred_batch_sizes: trial.candidate.preferredBatchSizes,
      max_queue_delay_ms: trial.candidate.maxQueueDelayMs,
      load_ms: Math.round(trial.loadMs),
      ...(trial.batchCap !== undefined ? { batch_cap: trial.batchCap } : {}),
      ...(trial.measured
        ? {
            throughput_per_s: round(trial.measured.throughput),
            p50_ms: round(trial.measured.p50Ms),
            p95_ms: round(trial.measured.p95Ms),
            mean_batch_rows: round(trial.measured.meanBatchRows, 2),
            ...(trial.measured.cpuMsPerRequest !== undefined ? { cpu_ms_per_request: round(trial.measured.cpuMsPerRequest, 3) } : {}),
            requests: trial.measured.requests,
            failures: trial.measured.failures,
            ...(trial.measured.stoppedEarly ? { stopped_early: trial.measured.stoppedEarly } : {}),
          }
        : {}),
      ...(trial.error ? { error: trial.error } : {}),
      ...(trial === result.chosen ? { chosen: true } : {}),
    })),
  };
}

export function reportMarkdown(result: TuneResult, date: string): string {
  const m = machine(result);
  const json = reportJson(result, date);
  const speedup = 'speedup_over_configured' in json ? ` (${String(json.speedup_over_configured)}x the hand-written settings)` : '';
  const table = rows(result).map((row) => `| ${COLUMNS.map((column) => row[column].replace(/\|/g, '\\|')).join(' | ')} |`);
  return [
    `# Tuning ${result.definition.name} version ${result.version}`,
    '',
    `Measured ${date} by \`npm run tune\` on ${m.cpu} (${m.cores} cores${m.gpus.length ? `; ${m.gpus.join(', ')}` : ''}), ${m.os}, Node ${m.node}.`,
    `Provider: ${result.provider || 'none'}. Closed loop of ${result.concurrency} requests in flight, one row each;`,
    `latency budget (p95) ${result.latencyBudgetMs} ms.`,
    `Hardware key: \`${result.hardwareKey}\`. ${result.trials.length} configurations in ${round(result.elapsedMs / 1000)} s.`,
    '',
    `| ${COLUMNS.map((column) => HEADERS[column] || 'note').join(' | ')} |`,
    `|${COLUMNS.map(() => '---').join('|')}|`,
    ...table,
    '',
    result.chosen ? `Chosen: ${describe(result.chosen)}${speedup}.` : 'Nothing could be measured.',
    '',
  ].join('\n');
}
