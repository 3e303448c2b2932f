import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadResult } from './load.js';
import type { MachineInfo } from './machine-info.js';
import { logBlock, mb, row } from './markdown.js';
import type { Boundedness, GroupGrowth, Snapshot } from './redis-soak-analysis.js';
import type { RedisSample } from './redis-sampler.js';
import { JOB_HASHES } from './settings.js';

/** The shape of bench/results/redis-soak.json. */
export interface RedisSoakResults {
  readonly machine: MachineInfo & { readonly loadAverageAtEnd: number; readonly benchSeconds: number };
  readonly settings: {
    readonly requests: number;
    readonly connections: number;
    readonly warmupSeconds: number;
    readonly retentionSeconds: number;
    readonly cleanupRequests: number;
    readonly workerCpuCount: number;
    readonly redisUrl: string;
    readonly prefix: string;
  };
  /** serverCpuPercent is the gateway's; otherCpuPercent has the worker's and redis-server's. */
  readonly load: LoadResult;
  /** INFO memory used_memory (whole server), at each moment of the soak. */
  readonly usedMemory: {
    readonly beforeProcessesBytes: number;
    readonly startBytes: number;
    /** Over every sample, the retention wait included (another user's spike shows here). */
    readonly peakBytes: number;
    readonly peakAtSecond: number;
    readonly peakDuringLoadBytes: number;
    readonly peakDuringLoadAtSecond: number;
    readonly endOfLoadBytes: number;
    readonly afterRetentionWaitBytes: number;
    readonly afterCleanupBytes: number;
    readonly afterPrefixDeletedBytes: number;
  };
  /** Every key under the prefix with MEMORY USAGE: after warm-up, end of load, after the retention wait, after the cleanup requests. */
  readonly snapshots: {
    readonly start: Snapshot;
    readonly endOfLoad: Snapshot;
    readonly afterRetentionWait: Snapshot;
    readonly afterCleanup: Snapshot;
  };
  readonly keysDeleted: number;
  readonly boundedness: Boundedness;
  readonly problems: readonly string[];
  readonly logs: { readonly gateway: string; readonly worker: string };
  readonly samples: readonly RedisSample[];
}

const growthRow = (g: GroupGrowth): string =>
  row([
    `\`${g.group}\``,
    g.start,
    g.secondQuarterMean,
    g.lastQuarterMean,
    g.peak,
    g.endOfLoad,
    g.afterCleanup,
    g.growingUnderLoad ? 'yes' : 'no',
    g.released ? 'yes' : 'no',
    g.unbounded ? '**yes**' : 'no',
  ]);

const snapshotRow = (name: string, s: Snapshot, collections: readonly string[]): string =>
  row([name, s.second, mb(s.usedMemoryBytes), s.census.keys, mb(s.census.bytes), ...collections.map((c) => s.entries[c] ?? '-')]);

/** Bytes per entry of a collection shape, from the census (MEMORY USAGE / entries), for projecting its cap. */
function bytesPerEntry(snapshot: Snapshot, shape: string): string {
  const entries = snapshot.entries[shape];
  const bytes = snapshot.census.groups.find((g) => g.group === shape)?.bytes;
  return entries && bytes ? String(Math.round(bytes / entries)) : '-';
}

export function renderSoakMarkdown(r: RedisSoakResults): string {
  const m = r.machine;
  const u = r.usedMemory;
  const s = r.settings;
  const b = r.boundedness;
  const load = r.load;
  const cpu = load.otherCpuPercent ?? {};
  // Columns for the keys that held more than a handful of entries (streams, the completed set).
  const collections = b.collections.filter((c) => c.peak > 10).map((c) => c.group);
  const dashes = collections.map(() => '-');
  const census = (name: string, snapshot: Snapshot): string[] => [
    `### Keys under the prefix by shape, ${name} (MEMORY USAGE … SAMPLES 0)`,
    '',
    row(['Key (prefix stripped)', 'Keys', 'MB']),
    row(['---', '---:', '---:']),
    ...snapshot.census.groups.map((g) => row([`\`${g.group}\``, g.keys, mb(g.bytes)])),
    '',
  ];
  return [
    '# Redis soak (distributed mode)',
    '',
    `${m.date} · ${m.cpuModel} · ${m.cores} cores · Node ${m.nodeVersion} · commit ${m.gitCommit} · load average ${m.loadAverageAtStart} at start, ${m.loadAverageAtEnd} at end · took ${m.benchSeconds} s`,
    '',
    `One gateway + one worker (CPU_COUNT=${s.workerCpuCount}) on ${s.redisUrl}, prefix \`${s.prefix}\` (deleted at the end: ${r.keysDeleted} keys), ` +
      `RESULT_RETENTION_SECONDS=${s.retentionSeconds}. ${s.warmupSeconds} s warm-up at ${s.connections} connections, then ${s.requests} requests (autocannon amount) ` +
      `at ${s.connections} connections, then a ${s.retentionSeconds + 1} s wait and ${s.cleanupRequests} sequential requests to let BullMQ remove aged jobs.`,
    '',
    `## Verdict: **${b.verdict.toUpperCase()}**`,
    '',
    ...b.conclusion.map((line) => `- ${line}`),
    '',
    r.problems.length === 0 ? 'No errors or non-2xx replies.' : `**Problems:**\n\n${r.problems.map((p) => `- ${p}`).join('\n')}`,
    '',
    '## Load',
    '',
    `${load.responses2xx} × 2xx in ${load.durationSeconds} s: **${load.requestsPerSecond} req/s**, p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms, max ${load.latencyMs.max} ms; ` +
      `${load.non2xx} non-2xx, ${load.errors} errors (${load.timeouts} timeouts). CPU %: gateway ${load.serverCpuPercent ?? '-'}, worker ${cpu.worker ?? '-'}, ` +
      `redis-server ${cpu.redis ?? '-'}, load generator ${load.clientCpuPercent} (the bench also sampled Redis each second).`,
    '',
    '## Redis memory',
    '',
    "used_memory is the whole server's (others may share it); the prefix columns are this run's keys only.",
    '',
    `The last columns are entries inside single keys (XLEN, ZCARD, HLEN, ...). Bytes per entry at the end of the load: ` +
      `${collections.map((c) => `\`${c}\` ${bytesPerEntry(r.snapshots.endOfLoad, c)}`).join(', ')}.`,
    '',
    row(['Moment', 'Second', 'used_memory MB', 'Prefix keys', 'Prefix MEMORY USAGE MB', ...collections.map((c) => `\`${c}\``)]),
    row(['---', '---:', '---:', '---:', '---:', ...collections.map(() => '---:')]),
    row(['Before the processes started', '-', mb(u.beforeProcessesBytes), '-', '-', ...dashes]),
    snapshotRow('Start (after warm-up)', r.snapshots.start, collections),
    row(['Peak during the load (1 s samples)', u.peakDuringLoadAtSecond, mb(u.peakDuringLoadBytes), '-', '-', ...dashes]),
    row(['Peak over the whole soak', u.peakAtSecond, mb(u.peakBytes), '-', '-', ...dashes]),
    snapshotRow('End of load', r.snapshots.endOfLoad, collections),
    snapshotRow(`After ${s.retentionSeconds + 1} s wait (no new jobs)`, r.snapshots.afterRetentionWait, collections),
    snapshotRow(`After ${s.cleanupRequests} cleanup requests`, r.snapshots.afterCleanup, collections),
    row(['After the prefix was deleted', '-', mb(u.afterPrefixDeletedBytes), 0, 0, ...dashes]),
    '',
    `used_memory mean over the load's second quarter ${mb(b.usedMemorySecondQuarterMeanBytes)} MB, over its last quarter ${mb(b.usedMemoryLastQuarterMeanBytes)} MB.`,
    '',
    '## Growth by key shape (key counts) and inside single keys (entries)',
    '',
    'Unbounded = still growing late in the load (Q4 mean > 1.2 × Q2 mean) and not released after the retention wait and cleanup requests.',
    '',
    row([
      'Shape',
      'Start',
      'Load Q2 mean',
      'Load Q4 mean',
      'Peak',
      'End of load',
      'After cleanup',
      'Growing late?',
      'Released?',
      'Unbounded?',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---', '---', '---']),
    ...b.keyGroups.filter((g) => g.peak > 3 || g.unbounded).map(growthRow),
    ...b.collections.filter((g) => g.peak > 10 || g.unbounded).map((g) => growthRow({ ...g, group: `${g.group} (entries)` })),
    '',
    'Left out: shapes that never had more than 3 keys, and keys that never held more than 10 entries (all are in redis-soak.json).',
    '',
    ...census('at the end of the load', r.snapshots.endOfLoad),
    ...census('after the retention wait and cleanup requests', r.snapshots.afterCleanup),
    '## Samples (every 5th; all in redis-soak.json)',
    '',
    row(['Second', 'Phase', 'used_memory MB', 'Prefix keys', 'Job hashes', ...collections.map((c) => `\`${c}\``)]),
    row(['---:', '---', '---:', '---:', '---:', ...collections.map(() => '---:')]),
    ...r.samples
      .filter((_, index) => index % 5 === 0 || index === r.samples.length - 1)
      .map((x) =>
        row([
          x.second,
          x.phase,
          mb(x.usedMemoryBytes),
          x.prefixKeys,
          x.keysByGroup[JOB_HASHES] ?? 0,
          ...collections.map((c) => x.entries[c] ?? '-'),
        ]),
      ),
    '',
    logBlock('distributed gateway', r.logs.gateway),
    '',
    logBlock('worker', r.logs.worker),
    '',
  ].join('\n');
}

export async function writeSoakReports(results: RedisSoakResults, dir: string): Promise<{ json: string; markdown: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'redis-soak.json');
  const markdown = join(dir, 'redis-soak.md');
  await writeFile(json, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(markdown, renderSoakMarkdown(results));
  return { json, markdown };
}
