import type { Measurements } from './results.js';
import { round } from './stats.js';

export interface Verdict {
  readonly name: string;
  /** How the measured value is derived, in words. */
  readonly measured: string;
  readonly value: number;
  readonly threshold: string;
  readonly pass: boolean;
}

/** The serving-core targets. A miss is reported, never thrown: it is a result, not a crash. */
export function evaluateTargets(m: Measurements): Verdict[] {
  const gateway64 = m.gateway.c64.requestsPerSecond;
  const ceiling = m.httpCeiling.c64.requestsPerSecond;
  const compute = m.computeLimit.best.samplesPerSecond;
  const bound = Math.min(ceiling, compute);
  const boundName = ceiling <= compute ? 'HTTP ceiling' : 'compute limit';
  const overhead = m.gateway.sequential.p50Ms - m.computeLimit.rawLatencyBatch1.p50Ms;
  const fraction = round(gateway64 / bound, 3);
  const speedup = round(gateway64 / m.naive.c64.requestsPerSecond, 2);
  return [
    {
      name: 'gateway throughput vs bound',
      measured: `gateway@64 ${gateway64} req/s / ${boundName} ${bound} (min of HTTP ceiling ${ceiling} req/s, compute ${compute} samples/s)`,
      value: fraction,
      threshold: '>= 0.8',
      pass: fraction >= 0.8,
    },
    {
      name: 'gateway vs naive server',
      measured: `gateway@64 ${gateway64} req/s / naive@64 ${m.naive.c64.requestsPerSecond} req/s`,
      value: speedup,
      threshold: '>= 3',
      pass: speedup >= 3,
    },
    {
      name: 'gateway latency overhead at 1 connection',
      measured: `gateway p50 ${m.gateway.sequential.p50Ms} ms - raw batch-1 p50 ${m.computeLimit.rawLatencyBatch1.p50Ms} ms`,
      value: round(overhead, 4),
      threshold: '<= 1 ms',
      pass: overhead <= 1,
    },
    {
      name: 'gateway RSS growth under load',
      measured: `RSS ${m.gateway.soak.rssWarmMb} MB at ${m.gateway.soak.warmAtSecond} s -> ${m.gateway.soak.rssEndMb} MB at ${m.gateway.soak.seconds} s`,
      value: m.gateway.soak.growthPercent,
      threshold: '< 10 %',
      pass: m.gateway.soak.growthPercent < 10,
    },
    ...distributedTargets(m),
  ];
}

/** Distributed mode against embedded mode on the same machine; FAIL when it could not run. */
function distributedTargets(m: Measurements): Verdict[] {
  const d = m.distributed;
  const throughput = { name: 'distributed vs embedded throughput @64', threshold: '>= 0.6' };
  const latency = { name: 'distributed latency over embedded at 1 connection', threshold: '<= 3 ms' };
  if ('failed' in d) {
    const measured = `distributed stage failed: ${d.failed.split('\n')[0]}`;
    return [
      { ...throughput, measured, value: 0, pass: false },
      { ...latency, measured, value: 0, pass: false },
    ];
  }
  const { paired } = d;
  const ratio = paired.medianRatio;
  const extra = round(d.sequential.p50Ms - m.gateway.sequential.p50Ms, 4);
  const rounds = paired.rounds.map((r) => `${r.distributed.requestsPerSecond}/${r.embedded.requestsPerSecond}`).join(', ');
  return [
    {
      ...throughput,
      measured: `median of ${paired.rounds.length} alternating rounds (distributed/embedded req/s: ${rounds})`,
      value: ratio,
      pass: ratio >= 0.6,
    },
    {
      ...latency,
      measured: `distributed p50 ${d.sequential.p50Ms} ms - embedded p50 ${m.gateway.sequential.p50Ms} ms`,
      value: extra,
      pass: extra <= 3,
    },
  ];
}

/** Errors and wrong answers: the run's figures cannot be trusted while any are present. */
export function findProblems(m: Measurements): string[] {
  const problems: string[] = [];
  const runs: [string, { non2xx: number; errors: number; timeouts: number; statusCodes: Record<string, number> }][] = [
    ['HTTP ceiling @64', m.httpCeiling.c64],
    ['naive @64', m.naive.c64],
    ['naive @1', m.naive.c1],
    ['gateway @64', m.gateway.c64],
    ['gateway @1', m.gateway.c1],
    ['gateway soak', m.gateway.soak.load],
    ['fp32 direct @64 (cheap-tier stage)', m.cheapTier.fp32.c64],
    ['classify route @64 (cheap-tier stage)', m.cheapTier.cascade.c64],
  ];
  for (const [name, run] of runs) {
    if (run.non2xx > 0 || run.errors > 0) {
      problems.push(
        `${name}: ${run.non2xx} non-2xx, ${run.errors} errors (${run.timeouts} timeouts), status codes ${JSON.stringify(run.statusCodes)}`,
      );
    }
  }
  for (const [name, check] of [
    ['naive', m.naive.outputCheck],
    ['gateway', m.gateway.outputCheck],
  ] as const) {
    if (check.mismatches > 0) problems.push(`${name}: ${check.mismatches}/${check.requests} wrong answers: ${check.problems.join('; ')}`);
  }
  const failed = m.gateway.batchingAt64.failedRequests + m.gateway.batchingDuringSoak.failedRequests;
  if (failed > 0) problems.push(`gateway statistics count ${failed} failed requests under load`);
  return [...problems, ...distributedProblems(m)];
}

function distributedProblems(m: Measurements): string[] {
  const d = m.distributed;
  if ('failed' in d) return [`distributed stage failed: ${d.failed}`];
  const problems: string[] = [];
  const run = d.c64;
  if (run.non2xx > 0 || run.errors > 0) {
    problems.push(
      `distributed @64: ${run.non2xx} non-2xx, ${run.errors} errors (${run.timeouts} timeouts), status codes ${JSON.stringify(run.statusCodes)}`,
    );
  }
  d.paired.rounds.forEach((pair, index) => {
    for (const [side, result] of [
      ['embedded', pair.embedded],
      ['distributed', pair.distributed],
    ] as const) {
      if (result.non2xx > 0 || result.errors > 0)
        problems.push(`paired round ${index + 1}, ${side}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    }
  });
  const check = d.outputCheck;
  if (check.mismatches > 0) problems.push(`distributed: ${check.mismatches}/${check.requests} wrong answers: ${check.problems.join('; ')}`);
  if (d.batchingAt64.failedRequests > 0)
    problems.push(`distributed worker statistics count ${d.batchingAt64.failedRequests} failed requests under load`);
  return problems;
}
