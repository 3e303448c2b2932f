import { formatChange, type FigureChange } from './compare.js';
import { OUTCOMES, type Outcome } from './outcomes.js';
import { OUTCOME_LABELS, type LoadTestReport } from './report.js';
import { formatLimit } from './slo.js';
import { barList, escapeXml, lineChart, stackedColumns } from './svg-charts.js';

const OUTCOME_COLORS: Record<Outcome, string> = {
  ok: '#2ca02c',
  replayed: '#98df8a',
  rate_limited: '#ff7f0e',
  budget_exceeded: '#ffbb78',
  unavailable: '#9467bd',
  in_progress: '#c5b0d5',
  client_error: '#d62728',
  server_error: '#8c0000',
};
const STATUS_COLOR = (status: number): string =>
  status < 300 ? '#2ca02c' : status === 429 || status === 503 || status === 409 ? '#ff7f0e' : '#d62728';

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222}
h1{font-size:22px;margin:0 0 4px}.sub{color:#666;margin:0 0 16px}
.verdict{padding:14px 18px;border-radius:6px;font-size:20px;font-weight:600;margin-bottom:16px;color:#fff}
.pass{background:#2e7d32}.fail{background:#c62828}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:16px}.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:20px}.card span{color:#666;font-size:12px}
/* Two charts a row where each gets 540 px, one otherwise: scaled further, their text is unreadable. */
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,540px),1fr));gap:16px}
section{border:1px solid #ddd;border-radius:6px;padding:10px 12px}h2{font-size:15px;margin:0 0 6px}
svg{max-width:100%;height:auto;font:12px system-ui,sans-serif}svg .axis{fill:#555}svg .mark{fill:#d62728;font-weight:600}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
.bad{color:#c62828;font-weight:600}.good{color:#2e7d32}.notes{color:#666;font-size:12px}`;

/** One self-contained page: the verdict at the top, the figures, then the charts. */
export function htmlReport(report: LoadTestReport, comparison: readonly FigureChange[] | undefined): string {
  const { totals, slo } = report;
  const verdict =
    slo.checks.length === 0
      ? 'No SLOs set'
      : slo.pass
        ? 'PASS: every SLO met'
        : `FAIL: ${slo.checks
            .filter((c) => !c.pass)
            .map((c) => c.name)
            .join(', ')} violated`;
  const sloRows = slo.checks
    .map(
      (c) =>
        `<tr><td>${c.name}</td><td>${escapeXml(formatLimit(c))}</td><td>${round(c.actual)}</td><td class="${c.pass ? 'good' : 'bad'}">${c.pass ? 'pass' : 'FAIL'}</td></tr>`,
    )
    .join('');
  const card = (value: string, label: string): string =>
    `<div class="card"><b>${escapeXml(value)}</b><span>${escapeXml(label)}</span></div>`;
  // A partial last window (a few answers over a few ms) would chart as a collapse or a burst.
  const windows = report.windows.filter((w) => w.partial !== true);
  const xMax = windows.length > 0 ? windows.at(-1)!.t + 1 : undefined;
  // A window's figures are plotted at its middle, over the columns of the breakdown chart.
  const t = windows.map((w) => w.t + 0.5);
  const whole = report.scenario.findKnee ? ' (whole ramp)' : '';
  const sections = [
    section(
      'Latency percentiles over time (2xx, per second)',
      lineChart(
        'latency over time',
        'seconds',
        'ms',
        [
          { name: 'p50', color: '#1f77b4', points: windows.map((w, i) => [t[i]!, w.p50Ms]) },
          { name: 'p95', color: '#ff7f0e', points: windows.map((w, i) => [t[i]!, w.p95Ms]) },
          { name: 'p99', color: '#d62728', points: windows.map((w, i) => [t[i]!, w.p99Ms]) },
        ],
        [],
        xMax,
      ),
    ),
    section(
      'Throughput over time (per second)',
      lineChart(
        'throughput over time',
        'seconds',
        'req/s',
        [
          { name: '2xx', color: '#2ca02c', points: windows.map((w, i) => [t[i]!, w.throughputRps]) },
          { name: 'refused', color: '#ff7f0e', points: windows.map((w, i) => [t[i]!, w.refused]) },
          { name: 'errors', color: '#d62728', points: windows.map((w, i) => [t[i]!, w.errors]) },
        ],
        [],
        xMax,
      ),
    ),
    section(
      'Latency breakdown over time (mean per second, from response headers)',
      stackedColumns(
        'latency breakdown',
        'seconds',
        'ms',
        [
          { name: 'compute', color: '#1f77b4', values: windows.map((w) => w.meanComputeMs) },
          { name: 'queue', color: '#ff7f0e', values: windows.map((w) => w.meanQueueMs) },
          { name: 'gateway overhead', color: '#7f7f7f', values: windows.map((w) => w.meanGatewayMs) },
          { name: 'network and client', color: '#c7c7c7', values: windows.map((w) => w.meanNetworkMs ?? 0) },
        ],
        xMax,
      ) + breakdownTable(report),
    ),
    section(
      'Outcomes and status codes',
      barList('outcomes', [
        ...OUTCOMES.filter((o) => totals.outcomes[o] > 0).map((o) => ({
          label: OUTCOME_LABELS[o],
          value: totals.outcomes[o],
          color: OUTCOME_COLORS[o],
        })),
        ...(totals.transportErrors > 0 ? [{ label: 'transport errors', value: totals.transportErrors, color: '#8c0000' }] : []),
      ]) +
        barList(
          'status codes',
          Object.entries(totals.statusCodes).map(([status, count]) => ({
            label: `HTTP ${status}`,
            value: count,
            color: STATUS_COLOR(Number(status)),
          })),
        ),
    ),
  ];
  const batchSizes = Object.entries(report.served?.batchSizes ?? {});
  if (batchSizes.length > 0) {
    sections.push(
      section(
        'Batch sizes the answers ran in (X-Batch-Size)',
        barList(
          'batch sizes',
          batchSizes.map(([size, count]) => ({ label: `batch of ${size}`, value: count, color: '#1f77b4' })),
        ),
      ),
    );
  }
  if (report.phases.length > 1) sections.push(section('Phases', phaseTable(report)));
  const tenants = tenantTable(report);
  if (tenants) sections.push(section('Per tenant and phase', tenants));
  if (report.scenario.findKnee) {
    const points = report.phases.map((p) => [p.throughputRps, p.totals.latency.p95Ms] as const);
    const markers = report.knee
      ? [{ x: report.knee.throughputRps, y: report.knee.p95Ms, label: `knee ${report.knee.throughputRps} req/s` }]
      : [];
    sections.push(
      section(
        'Throughput against p95 latency, one point per phase',
        lineChart(
          'throughput-latency curve',
          'throughput (req/s)',
          'p95 ms',
          [{ name: 'p95 per phase', color: '#9467bd', points }],
          markers,
        ),
      ),
    );
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Load test ${escapeXml(report.scenario.name)}: ${slo.pass ? 'pass' : 'fail'}</title><style>${CSS}</style></head><body>
<h1>Load test <code>${escapeXml(report.scenario.name)}</code></h1>
<p class="sub">${escapeXml(report.scenario.description)} Target ${escapeXml(report.target)}, ${report.durationS} s from ${escapeXml(report.startedAt)}.${servedLine(report)}</p>
<div class="verdict ${slo.pass ? 'pass' : 'fail'}">${escapeXml(verdict)}</div>
${sloRows ? `<table><tr><th>SLO</th><th>limit</th><th>measured</th><th></th></tr>${sloRows}</table>` : ''}
<div class="cards">${card(`${report.throughputRps} req/s`, 'throughput (2xx)')}${card(`${totals.latency.p50Ms} ms`, `p50${whole}`)}${card(`${totals.latency.p90Ms} ms`, `p90${whole}`)}${card(`${totals.latency.p95Ms} ms`, `p95${whole}`)}${card(`${totals.latency.p99Ms} ms`, `p99${whole}`)}${card(`${totals.latency.maxMs} ms`, `max${whole}`)}${card(`${(totals.errorRate * 100).toFixed(2)} %`, `error rate (${totals.errors} of ${totals.sent})`)}${report.knee ? card(`${report.knee.throughputRps} req/s`, `knee at ${report.knee.connections} connections`) : ''}</div>
${comparison ? `<section><h2>Against the previous run</h2><ul>${comparison.map((c) => `<li class="${c.better === false ? 'bad' : ''}">${escapeXml(formatChange(c))}</li>`).join('')}</ul></section>` : ''}
<div class="grid">${sections.join('\n')}</div>
<p class="notes">${[...report.notes, ...partialNote(report)].map(escapeXml).join('<br>')}</p>
</body></html>
`;
}

/** What the run actually tested, from the answers' X-Route and X-Model-Version. */
function servedLine(report: LoadTestReport): string {
  const versions = Object.entries(report.served?.versions ?? {});
  if (versions.length === 0) return '';
  return ` Answered by ${versions.map(([version, count]) => `${escapeXml(version)} (${count})`).join(', ')}.`;
}

function partialNote(report: LoadTestReport): string[] {
  const partial = report.windows.filter((w) => w.partial === true);
  return partial.length === 0
    ? []
    : [
        `The charts leave out ${partial.length} partial window(s) at the end of the run (less than a second long); the totals include them.`,
      ];
}

const section = (title: string, body: string): string => `<section><h2>${escapeXml(title)}</h2>${body}</section>`;
const round = (value: number): number => Math.round(value * 1000) / 1000;

function breakdownTable(report: LoadTestReport): string {
  const b = report.breakdown;
  if (!b) return '<p>No answer carried timing headers.</p>';
  const rowOf = (name: string, c: { meanMs: number; p50Ms: number; p95Ms: number }): string =>
    `<tr><td>${name}</td><td>${c.meanMs}</td><td>${c.p50Ms}</td><td>${c.p95Ms}</td></tr>`;
  return `<table><tr><th>ms</th><th>mean</th><th>p50</th><th>p95</th></tr>${rowOf('gateway overhead', b.gateway)}${rowOf('queue', b.queue)}${rowOf('compute', b.compute)}${b.network ? rowOf('network and client', b.network) : ''}</table>`;
}

/** A tenant's latency alone and beside a noisy neighbour: one row per tenant kind and phase. */
function tenantTable(report: LoadTestReport): string | undefined {
  const rows = report.phases.flatMap((p) =>
    (p.kinds ?? [])
      .filter((k) => k.kind.startsWith('tenant '))
      .map((k) => {
        const tenant = k.kind.slice('tenant '.length).split(':')[0]!;
        const cell = (value: number | undefined): string => (value === undefined ? '-' : String(round(value)));
        return `<tr><td>${escapeXml(k.kind)}</td><td>${p.phase + 1}</td><td>${p.tenants?.[tenant] ?? p.connections}</td><td>${k.totals.outcomes.ok}</td><td>${k.totals.latency.p50Ms}</td><td>${k.totals.latency.p95Ms}</td><td>${cell(k.breakdown?.queue.p50Ms)}</td><td>${cell(k.breakdown?.compute.p50Ms)}</td></tr>`;
      }),
  );
  if (rows.length === 0) return undefined;
  return `<table><tr><th>tenant and request</th><th>phase</th><th>connections</th><th>2xx</th><th>p50 ms</th><th>p95 ms</th><th>queue p50 ms</th><th>compute p50 ms</th></tr>${rows.join('')}</table>`;
}

function phaseTable(report: LoadTestReport): string {
  const rows = report.phases.map((p) => {
    const knee = report.knee?.phase === p.phase ? ' (knee)' : '';
    return `<tr><td>${p.phase + 1}${knee}</td><td>${p.connections}</td><td>${p.rate ?? 'closed loop'}</td><td>${p.durationS}</td><td>${p.throughputRps}</td><td>${p.totals.latency.p95Ms}</td><td>${(p.totals.errorRate * 100).toFixed(2)} %</td></tr>`;
  });
  return `<table><tr><th>phase</th><th>connections</th><th>rate</th><th>s</th><th>req/s</th><th>p95 ms</th><th>errors</th></tr>${rows.join('')}</table>`;
}
