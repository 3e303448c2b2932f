import { logBlock, mb, row } from './markdown.js';
import type { BenchResults } from './results.js';
import { round } from './stats.js';

const ratio = (distributed: number, embedded: number): string => (embedded > 0 ? `${round(distributed / embedded, 3)}×` : '-');

/** The distributed-mode section of serving-core.md: side by side with the embedded gateway. */
export function distributedSection(r: BenchResults): string[] {
  const d = r.distributed;
  const head = '## Distributed mode (gateway + 1 worker + Redis, same machine) vs embedded';
  if ('failed' in d) return [head, '', `**The distributed stage failed:**\n\n\`\`\`\n${d.failed}\n\`\`\``, ''];
  const e = r.gateway;
  const cpu = d.c64.otherCpuPercent ?? {};
  const memory = d.redis;
  return [
    head,
    '',
    `Worker CPU_COUNT=${d.workerCpuCount} (as embedded); key prefix \`${d.prefix}\` on ${d.redisUrl}, deleted afterwards. ` +
      "Everything (load generator, gateway, worker, redis-server) shares this machine's cores.",
    '',
    'The throughput ratio is judged on paired rounds: an embedded gateway started beside the distributed stack, ' +
      "the two loaded in turn, so each ratio compares runs seconds apart (the machine's speed drifts by 20 % and more within minutes). " +
      "The separate-stage figures are the gateway stage's run and this stage's first run.",
    '',
    row(['Figure', 'Embedded', 'Distributed', 'Distributed / embedded']),
    row(['---', '---:', '---:', '---:']),
    row([`Req/s @64, paired rounds (median ratio: the target's figure)`, '', '', `**${d.paired.medianRatio}×**`]),
    ...d.paired.rounds.map((pair, index) =>
      row([
        `Round ${index + 1} (alternating ${d.paired.secondsPerRun} s runs)`,
        pair.embedded.requestsPerSecond,
        pair.distributed.requestsPerSecond,
        `${pair.ratio}×`,
      ]),
    ),
    row([
      'Req/s @64, separate stages (minutes apart)',
      e.c64.requestsPerSecond,
      d.c64.requestsPerSecond,
      ratio(d.c64.requestsPerSecond, e.c64.requestsPerSecond),
    ]),
    row([
      'p50 / p99 ms @64 (whole ms)',
      `${e.c64.latencyMs.p50} / ${e.c64.latencyMs.p99}`,
      `${d.c64.latencyMs.p50} / ${d.c64.latencyMs.p99}`,
      '',
    ]),
    row(['Errors + non-2xx @64', e.c64.non2xx + e.c64.errors, d.c64.non2xx + d.c64.errors, '']),
    row(['Mean batch size @64', e.batchingAt64.meanBatchSize, d.batchingAt64.meanBatchSize, '']),
    row([
      'Sequential p50 ms (1 connection)',
      e.sequential.p50Ms,
      d.sequential.p50Ms,
      `+${round(d.sequential.p50Ms - e.sequential.p50Ms, 4)} ms`,
    ]),
    row(['Sequential p99 ms', e.sequential.p99Ms, d.sequential.p99Ms, `+${round(d.sequential.p99Ms - e.sequential.p99Ms, 4)} ms`]),
    row([
      'Server queue / compute p50 ms (headers)',
      `${e.sequential.serverQueueP50Ms ?? '-'} / ${e.sequential.serverComputeP50Ms ?? '-'}`,
      `${d.sequential.serverQueueP50Ms ?? '-'} / ${d.sequential.serverComputeP50Ms ?? '-'}`,
      '',
    ]),
    row(['CPU % @64: gateway', e.c64.serverCpuPercent ?? '-', d.c64.serverCpuPercent ?? '-', '']),
    row(['CPU % @64: worker / redis-server', '-', `${cpu.worker ?? '-'} / ${cpu.redis ?? '-'}`, '']),
    row(['CPU % @64: load generator', e.c64.clientCpuPercent, d.c64.clientCpuPercent, '']),
    row([
      'Output check (wrong / requests)',
      `${e.outputCheck.mismatches} / ${e.outputCheck.requests}`,
      `${d.outputCheck.mismatches} / ${d.outputCheck.requests}`,
      '',
    ]),
    '',
    `Distributed batch sizes @64: ${d.batchingAt64.inferences} inferences in ${d.batchingAt64.executions} executions; most common ` +
      `${d.batchingAt64.topBatchSizes.map((b) => `${b.batchSize}×${b.executions}`).join(', ') || '-'} (worker statistics via heartbeats, read after ${r.settings.distributedStatsSettleMs} ms).`,
    '',
    `Redis used_memory (whole server): ${mb(memory.usedMemoryBeforeBytes)} MB before the distributed runs, ${mb(memory.usedMemoryAfterRunsBytes)} MB after them ` +
      `(${mb(memory.usedMemoryAfterRunsBytes - memory.usedMemoryBeforeBytes)} MB), ${mb(memory.usedMemoryAfterCleanupBytes)} MB once the prefix's ${memory.keysDeleted} keys were deleted. ` +
      `Just after the runs the prefix held ${memory.prefixAfterRuns.keys} keys using ${mb(memory.prefixAfterRuns.bytes)} MB (MEMORY USAGE):`,
    '',
    row(['Key (prefix stripped)', 'Keys', 'MB']),
    row(['---', '---:', '---:']),
    ...memory.prefixAfterRuns.groups.slice(0, 12).map((g) => row([`\`${g.group}\``, g.keys, mb(g.bytes)])),
    '',
    logBlock('distributed gateway', d.logs.gateway),
    '',
    logBlock('worker', d.logs.worker),
    '',
  ];
}
