import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadResult } from './load.js';
import type { BenchResults } from './results.js';
import { row } from './markdown.js';
import { cheapTierSection } from './cheap-tier.js';
import { distributedSection } from './report-distributed.js';
import type { SequentialLatency } from './sequential-latency.js';

function loadRow(name: string, run: LoadResult): string {
  const failures = run.non2xx + run.errors;
  return row([
    name,
    run.connections,
    run.requestsPerSecond,
    run.latencyMs.p50,
    run.latencyMs.p99,
    run.latencyMs.mean,
    failures,
    run.serverCpuPercent ?? '-',
    run.clientCpuPercent,
  ]);
}

function sequentialRow(name: string, s: SequentialLatency): string {
  return row([
    name,
    s.requests,
    s.p50Ms,
    s.p90Ms,
    s.p99Ms,
    s.minMs,
    s.serverQueueP50Ms ?? '-',
    s.serverComputeP50Ms ?? '-',
    s.responseBytes,
  ]);
}

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const c = r.computeLimit;
  const g = r.gateway;
  const lines = [
    '# Serving core benchmark',
    '',
    `${m.date} · ${m.cpuModel} · ${m.cores} cores · ${m.memoryGb} GB · Node ${m.nodeVersion} · onnxruntime-node ${m.onnxruntimeNode} · commit ${m.gitCommit}`,
    `Load average ${m.loadAverageAtStart} at start, ${m.loadAverageAtEnd} at end (shared machine: compare ratios, not absolutes). Bench took ${m.benchSeconds} s.`,
    '',
    '## Targets',
    '',
    row(['Target', 'Value', 'Threshold', 'Result', 'Measured']),
    row(['---', '---:', '---', '---', '---']),
    ...r.targets.map((t) => row([t.name, t.value, t.threshold, t.pass ? '**PASS**' : '**FAIL**', t.measured])),
    '',
    r.problems.length === 0
      ? 'No errors, non-2xx replies or wrong answers.'
      : `**Problems:**\n\n${r.problems.map((p) => `- ${p}`).join('\n')}`,
    '',
    `## Compute limit (onnxruntime-node in process, ${c.intraOpThreads} intra-op threads)`,
    '',
    row(['Batch', 'Samples/s (wall)', 'Samples/s (median run)', 'Median run ms', 'Runs']),
    row(['---:', '---:', '---:', '---:', '---:']),
    ...c.batches.map((b) => row([b.batchSize, b.samplesPerSecond, b.samplesPerSecondAtMedian, b.medianRunMs, b.runs])),
    '',
    `Best: ${c.best.samplesPerSecond} samples/s at batch ${c.best.batchSize}. ` +
      `Raw batch-1 latency over ${c.rawLatencyBatch1.runs} runs: p50 ${c.rawLatencyBatch1.p50Ms} ms, p99 ${c.rawLatencyBatch1.p99Ms} ms, min ${c.rawLatencyBatch1.minMs} ms.`,
    '',
    '## Throughput (autocannon, whole-ms latencies)',
    '',
    'CPU % is per core (200 % = both cores of a 2-core machine); a load generator near 100 % means that run was client-bound.',
    '',
    row(['Server', 'Connections', 'Req/s', 'p50 ms', 'p99 ms', 'Mean ms', 'Errors + non-2xx', 'Server CPU %', 'Load generator CPU %']),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    loadRow('HTTP ceiling (fastify, no inference)', r.httpCeiling.c64),
    loadRow('Naive (fastify + session.run per request)', r.naive.c64),
    loadRow('Naive', r.naive.c1),
    loadRow('Gateway (embedded)', g.c64),
    loadRow('Gateway', g.c1),
    '',
    `Gateway mean batch size at 64 connections: **${g.batchingAt64.meanBatchSize}** ` +
      `(${g.batchingAt64.inferences} inferences in ${g.batchingAt64.executions} executions; most common sizes ` +
      `${g.batchingAt64.topBatchSizes.map((b) => `${b.batchSize}×${b.executions}`).join(', ')}).`,
    '',
    '## Latency at 1 connection (sequential keep-alive client, hrtime)',
    '',
    row(['Server', 'Requests', 'p50 ms', 'p90 ms', 'p99 ms', 'Min ms', 'Server queue p50 ms', 'Server compute p50 ms', 'Reply bytes']),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    sequentialRow('HTTP ceiling', r.httpCeiling.sequential),
    sequentialRow('Naive', r.naive.sequential),
    sequentialRow('Gateway', g.sequential),
    '',
    `## Gateway RSS soak (${g.soak.connections} connections, ${g.soak.seconds} s, ${g.soak.load.requestsPerSecond} req/s)`,
    '',
    `RSS ${g.soak.rssWarmMb} MB at ${g.soak.warmAtSecond} s, ${g.soak.rssEndMb} MB at the end (peak ${g.soak.rssPeakMb} MB): ` +
      `growth ${g.soak.growthPercent} %. Mean batch size during the soak: ${g.batchingDuringSoak.meanBatchSize}.`,
    '',
    '## Output checks',
    '',
    `Gateway: ${g.outputCheck.requests} requests at concurrency ${g.outputCheck.concurrency}, ${g.outputCheck.mismatches} wrong, max abs error ${g.outputCheck.maxAbsError.toExponential(2)}. ` +
      `Naive: ${r.naive.outputCheck.mismatches} wrong, max abs error ${r.naive.outputCheck.maxAbsError.toExponential(2)}.`,
    '',
    g.log.trim() === ''
      ? 'The gateway logged nothing at LOG_LEVEL=warn.'
      : `Gateway log at LOG_LEVEL=warn:\n\n\`\`\`\n${g.log.trim()}\n\`\`\``,
    '',
    ...cheapTierSection(r.cheapTier),
    ...distributedSection(r),
  ];
  return lines.join('\n');
}

/** Writes serving-core.json (every number) and serving-core.md (for people). */
export async function writeReports(results: BenchResults, dir: string): Promise<{ json: string; markdown: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'serving-core.json');
  const markdown = join(dir, 'serving-core.md');
  await writeFile(json, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(markdown, renderMarkdown(results));
  return { json, markdown };
}
