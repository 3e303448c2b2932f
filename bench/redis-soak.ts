/**
 * `npm run bench:redis-soak`: does Redis memory stay bounded in distributed mode?
 * One gateway + one worker on a fresh key prefix, RESULT_RETENTION_SECONDS short;
 * 100,000 requests at 64 connections while Redis is sampled each second; then a wait
 * past the retention and a few requests (BullMQ removes aged jobs only when later jobs
 * finish). Writes bench/results/redis-soak.{json,md}. Errors make the exit status
 * non-zero; unbounded growth is a reported finding, like a missed target.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { withDistributed } from './distributed.js';
import { runLoad, runRequests, type LoadTarget } from './load.js';
import { currentLoadAverage, machineInfo } from './machine-info.js';
import { keyCensus } from './redis-key-groups.js';
import { RedisProbe } from './redis-probe.js';
import { RedisSampler, type RedisSample } from './redis-sampler.js';
import { analyse, type Snapshot } from './redis-soak-analysis.js';
import { writeSoakReports, type RedisSoakResults } from './redis-soak-report.js';
import { makeRequestBodies } from './request-bodies.js';
import { measureSequential } from './sequential-latency.js';
import { INFER_PATH, REDIS_URL, RESULTS_DIR, settings } from './settings.js';

const CLEANUP_REQUESTS = 30;
const log = (message: string): void => console.log(`[redis-soak ${new Date().toISOString().slice(11, 19)}] ${message}`);

async function snapshot(probe: RedisProbe, prefix: string, sampler: RedisSampler): Promise<Snapshot> {
  const sample = await sampler.sample();
  const census = await keyCensus(probe, prefix);
  log(
    `  ${sample.phase}: used_memory ${sample.usedMemoryBytes} B, ${census.keys} keys under the prefix using ${census.bytes} B, entries ${JSON.stringify(sample.entries)}`,
  );
  return { second: sample.second, usedMemoryBytes: sample.usedMemoryBytes, census, entries: sample.entries };
}

async function main(): Promise<number> {
  const started = performance.now();
  const machine = machineInfo();
  const probe = await RedisProbe.connect(REDIS_URL);
  const prefix = `swsoak-${randomUUID().slice(0, 8)}`;
  const {
    highConnections: connections,
    warmupSeconds,
    redisSoakRequests: requests,
    redisSoakRetentionSeconds: retentionSeconds,
  } = settings;
  const bodies = makeRequestBodies(settings.bodyCount).map((body) => body.json);
  log(`prefix ${prefix} on ${REDIS_URL}; ${requests} requests at ${connections} connections, RESULT_RETENTION_SECONDS=${retentionSeconds}`);
  try {
    const redisPid = await probe.localServerPid();
    const beforeProcessesBytes = await probe.usedMemory();
    const env = { RESULT_RETENTION_SECONDS: String(retentionSeconds) };
    const soak = await withDistributed({ redisUrl: REDIS_URL, prefix, env }, async (d) => {
      const target: LoadTarget = { url: d.url, path: INFER_PATH, bodies };
      await runLoad(target, connections, warmupSeconds, 0);
      const sampler = new RedisSampler(probe, prefix);
      sampler.start('start');
      const start = await snapshot(probe, prefix, sampler);
      sampler.mark('load');
      const load = await runRequests(target, connections, requests, d.gatewayPid, {
        worker: d.workerPid,
        ...(redisPid === undefined ? {} : { redis: redisPid }),
      });
      sampler.mark('end of load');
      log(
        `  load: ${load.requestsPerSecond} req/s, p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms, ${load.non2xx} non-2xx, ${load.errors} errors`,
      );
      const endOfLoad = await snapshot(probe, prefix, sampler);
      sampler.mark('retention wait');
      await sleep((retentionSeconds + 1) * 1000);
      const afterRetentionWait = await snapshot(probe, prefix, sampler);
      sampler.mark('cleanup requests');
      await measureSequential(target, CLEANUP_REQUESTS, 0);
      await sleep(500); // the last job's removal runs when it finishes, just after its reply
      sampler.mark('after cleanup');
      const afterCleanup = await snapshot(probe, prefix, sampler);
      const samples = await sampler.stop();
      return { load, samples, snapshots: { start, endOfLoad, afterRetentionWait, afterCleanup }, logs: d.logs() };
    });
    const keysDeleted = await probe.deletePrefix(prefix);
    const afterPrefixDeletedBytes = await probe.usedMemory();
    const highest = (samples: readonly RedisSample[]): RedisSample =>
      samples.reduce((a, b) => (b.usedMemoryBytes > a.usedMemoryBytes ? b : a));
    const peak = highest(soak.samples);
    const peakDuringLoad = highest(soak.samples.filter((sample) => sample.phase === 'load' || sample.phase === 'end of load'));
    const { load, snapshots } = soak;
    const problems: string[] = [];
    if (load.non2xx > 0 || load.errors > 0) {
      problems.push(
        `${load.non2xx} non-2xx, ${load.errors} errors (${load.timeouts} timeouts), status codes ${JSON.stringify(load.statusCodes)}`,
      );
    }
    if (load.responses2xx < requests) problems.push(`only ${load.responses2xx} of ${requests} requests answered 2xx`);
    const results: RedisSoakResults = {
      machine: { ...machine, loadAverageAtEnd: currentLoadAverage(), benchSeconds: Math.round((performance.now() - started) / 1000) },
      settings: {
        requests,
        connections,
        warmupSeconds,
        retentionSeconds,
        cleanupRequests: CLEANUP_REQUESTS,
        workerCpuCount: settings.cpuCount,
        redisUrl: REDIS_URL,
        prefix,
      },
      load,
      usedMemory: {
        beforeProcessesBytes,
        startBytes: snapshots.start.usedMemoryBytes,
        peakBytes: peak.usedMemoryBytes,
        peakAtSecond: peak.second,
        peakDuringLoadBytes: peakDuringLoad.usedMemoryBytes,
        peakDuringLoadAtSecond: peakDuringLoad.second,
        endOfLoadBytes: snapshots.endOfLoad.usedMemoryBytes,
        afterRetentionWaitBytes: snapshots.afterRetentionWait.usedMemoryBytes,
        afterCleanupBytes: snapshots.afterCleanup.usedMemoryBytes,
        afterPrefixDeletedBytes,
      },
      snapshots,
      keysDeleted,
      boundedness: analyse(soak.samples, CLEANUP_REQUESTS),
      problems,
      logs: soak.logs,
      samples: soak.samples,
    };
    const files = await writeSoakReports(results, RESULTS_DIR);
    console.log('');
    console.log(results.boundedness.verdict.toUpperCase());
    for (const line of results.boundedness.conclusion) console.log(`  ${line}`);
    for (const p of problems) console.log(`PROBLEM  ${p}`);
    console.log(`\nwrote ${files.json}\nwrote ${files.markdown}`);
    return problems.length > 0 ? 1 : 0;
  } finally {
    await probe.deletePrefix(prefix).catch(() => undefined);
    await probe.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`redis soak failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1); // the exit hook in child-process.ts kills any child still running
  },
);
