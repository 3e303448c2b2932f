import { formatChange, type FigureChange } from './compare.js';
import { OUTCOME_LABELS, type LoadTestReport } from './report.js';
import { OUTCOMES } from './outcomes.js';
import { formatLimit } from './slo.js';

const row = (cells: readonly (string | number)[]): string => `| ${cells.join(' | ')} |`;
const percent = (rate: number): string => `${(rate * 100).toFixed(2)} %`;

/** A PR comment: verdict first, then the figures an SRE reads, then the detail. */
export function markdownReport(report: LoadTestReport, comparison: readonly FigureChange[] | undefined): string {
  const { totals, breakdown, slo } = report;
  const lines = [
    `## Load test \`${report.scenario.name}\`: ${slo.pass ? 'PASS' : 'FAIL'}`,
    '',
    `${report.scenario.description} Target ${report.target}, ${report.durationS} s from ${report.startedAt}.`,
    '',
  ];
  const versions = Object.entries(report.served?.versions ?? {});
  if (versions.length > 0) lines.push(`Answered by: ${versions.map(([version, count]) => `\`${version}\` × ${count}`).join(', ')}.`, '');
  if (slo.checks.length === 0) lines.push('No SLOs set: nothing to gate on.', '');
  else
    lines.push(
      row(['SLO', 'limit', 'measured', '']),
      row(['---', '---', '---', '---']),
      ...slo.checks.map((c) => row([c.name, formatLimit(c), round(c.actual), c.pass ? 'pass' : '**FAIL**'])),
      '',
    );
  lines.push(
    row(['throughput', 'p50', 'p90', 'p95', 'p99', 'max', 'error rate', 'sent']),
    row(['---', '---', '---', '---', '---', '---', '---', '---']),
    row([
      `${report.throughputRps} req/s`,
      ms(totals.latency.p50Ms),
      ms(totals.latency.p90Ms),
      ms(totals.latency.p95Ms),
      ms(totals.latency.p99Ms),
      ms(totals.latency.maxMs),
      percent(totals.errorRate),
      totals.sent,
    ]),
    '',
  );
  if (breakdown) {
    lines.push(
      `Latency breakdown (${breakdown.samples} answers with Switchyard's timing headers):`,
      '',
      row(['', 'mean', 'p50', 'p95']),
      row(['---', '---', '---', '---']),
      row([
        'gateway overhead (X-Server-Ms − queue − compute)',
        ms(breakdown.gateway.meanMs),
        ms(breakdown.gateway.p50Ms),
        ms(breakdown.gateway.p95Ms),
      ]),
      row(['queue (X-Queue-Ms)', ms(breakdown.queue.meanMs), ms(breakdown.queue.p50Ms), ms(breakdown.queue.p95Ms)]),
      row(['compute (X-Compute-Ms)', ms(breakdown.compute.meanMs), ms(breakdown.compute.p50Ms), ms(breakdown.compute.p95Ms)]),
      row([
        'network and client (beyond X-Server-Ms)',
        ms(breakdown.network.meanMs),
        ms(breakdown.network.p50Ms),
        ms(breakdown.network.p95Ms),
      ]),
      '',
    );
  }
  const batchSizes = Object.entries(report.served?.batchSizes ?? {});
  if (batchSizes.length > 0)
    lines.push(`Batch sizes (X-Batch-Size): ${batchSizes.map(([size, count]) => `${size} × ${count}`).join(', ')}.`, '');
  lines.push(row(['outcome', 'count']), row(['---', '---']));
  for (const outcome of OUTCOMES) if (totals.outcomes[outcome] > 0) lines.push(row([OUTCOME_LABELS[outcome], totals.outcomes[outcome]]));
  if (totals.transportErrors > 0) lines.push(row(['transport errors (errors)', `${totals.transportErrors} (${totals.timeouts} timeouts)`]));
  lines.push(
    '',
    `Status codes: ${
      Object.entries(totals.statusCodes)
        .map(([s, n]) => `${s} × ${n}`)
        .join(', ') || 'none'
    }.`,
  );
  const codes = Object.entries(totals.errorCodes);
  if (codes.length > 0) lines.push(`Error codes: ${codes.map(([c, n]) => `\`${c}\` × ${n}`).join(', ')}.`);
  lines.push('');
  if (report.phases.length > 1) {
    lines.push(row(['phase', 'connections', 'rate', 'throughput', 'p95', 'error rate']), row(['---', '---', '---', '---', '---', '---']));
    for (const p of report.phases) {
      const knee = report.knee?.phase === p.phase ? ' **knee**' : '';
      lines.push(
        row([
          `${p.phase + 1}${knee}`,
          p.connections,
          p.rate ?? 'closed loop',
          `${p.throughputRps} req/s`,
          ms(p.totals.latency.p95Ms),
          percent(p.totals.errorRate),
        ]),
      );
    }
    lines.push('');
  }
  lines.push(...tenantLines(report));
  if (report.knee)
    lines.push(
      `Knee: **${report.knee.throughputRps} req/s** at ${report.knee.connections} connections (p95 ${ms(report.knee.p95Ms)}).`,
      '',
    );
  const tasks = report.kinds.some((k) => k.needsReview !== undefined);
  if (report.kinds.length > 1 || tasks) {
    const reviewColumn = tasks ? ['needs review'] : [];
    lines.push(row(['request kind', 'sent', '2xx', 'p95', 'errors', ...reviewColumn]));
    lines.push(row(['---', '---', '---', '---', '---', ...reviewColumn.map(() => '---')]));
    for (const k of report.kinds) {
      const reviews = k.needsReview === undefined ? [] : [`${k.needsReview} (${pct(k.needsReview, k.totals.outcomes.ok)})`];
      const answered = k.totals.outcomes.ok + k.totals.outcomes.replayed;
      lines.push(
        row([
          k.kind,
          k.totals.sent,
          answered,
          ms(k.totals.latency.p95Ms),
          k.totals.errors,
          ...(tasks ? (reviews.length ? reviews : ['']) : []),
        ]),
      );
    }
    lines.push('');
  }
  if (comparison) lines.push('Against the previous run:', '', ...comparison.map((change) => `- ${formatChange(change)}`), '');
  lines.push(...report.notes.map((note) => `_${note}_`), '');
  return lines.join('\n');
}

/** Per tenant and phase: its latency alone and beside the others (a noisy neighbour), with where the time went. */
export function tenantLines(report: LoadTestReport): string[] {
  const rows = report.phases.flatMap((p) =>
    (p.kinds ?? []).filter((k) => k.kind.startsWith('tenant ')).map((k) => ({ phase: p, kind: k })),
  );
  if (rows.length === 0) return [];
  const lines = [
    'Per tenant (latency of 2xx answers; queue and compute from the timing headers):',
    '',
    row(['tenant and request', 'phase', 'connections', '2xx', 'p50', 'p95', 'queue p50', 'compute p50']),
    row(['---', '---', '---', '---', '---', '---', '---', '---']),
  ];
  for (const { phase, kind } of rows) {
    const tenant = kind.kind.slice('tenant '.length).split(':')[0]!;
    const connections = phase.tenants?.[tenant] ?? `${phase.connections} shared`;
    const answered = kind.totals.outcomes.ok + kind.totals.outcomes.replayed;
    lines.push(
      row([
        kind.kind,
        phase.phase + 1,
        connections,
        answered,
        ms(kind.totals.latency.p50Ms),
        ms(kind.totals.latency.p95Ms),
        kind.breakdown ? ms(kind.breakdown.queue.p50Ms) : '-',
        kind.breakdown ? ms(kind.breakdown.compute.p50Ms) : '-',
      ]),
    );
  }
  lines.push('');
  return lines;
}

const round = (value: number): number => Math.round(value * 1000) / 1000;
const ms = (value: number): string => `${round(value)} ms`;

const pct = (part: number, whole: number): string => (whole > 0 ? `${Math.round((part / whole) * 1000) / 10} %` : '-');
