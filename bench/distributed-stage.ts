import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { withChildServer } from './child-server.js';
import { withDistributed } from './distributed.js';
import { embeddedGatewayOptions } from './embedded-gateway.js';
import { batchingBetween, readStats, type BatchingFigures, type StatsSnapshot } from './gateway-stats.js';
import { runLoad, type LoadResult, type LoadTarget } from './load.js';
import { measurePairedRounds, type PairedRounds } from './paired-rounds.js';
import { keyCensus, type KeyCensus } from './redis-key-groups.js';
import { RedisProbe } from './redis-probe.js';
import type { RequestBody } from './request-bodies.js';
import { measureSequential, type SequentialLatency } from './sequential-latency.js';
import { INFER_PATH, MODEL_NAME, REDIS_URL, settings } from './settings.js';
import { verifyOutputs, type OutputCheck } from './verify-outputs.js';

export interface DistributedResults {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly workerCpuCount: number;
  /** serverCpuPercent is the gateway's; otherCpuPercent has the worker's and redis-server's. */
  readonly c64: LoadResult;
  /** From the gateway's /stats, which sums the workers' heartbeat statistics. */
  readonly batchingAt64: BatchingFigures;
  readonly sequential: SequentialLatency;
  /** Embedded and distributed in alternating 64-connection runs: the throughput target's figure. */
  readonly paired: PairedRounds;
  readonly outputCheck: OutputCheck;
  readonly redis: {
    /** INFO memory used_memory, whole server: before the processes started, after the runs, after the prefix was deleted. */
    readonly usedMemoryBeforeBytes: number;
    readonly usedMemoryAfterRunsBytes: number;
    readonly usedMemoryAfterCleanupBytes: number;
    /** The run's own keys just after the runs (processes still up). */
    readonly prefixAfterRuns: KeyCensus;
    readonly keysDeleted: number;
  };
  readonly logs: { readonly gateway: string; readonly worker: string };
}

export type DistributedStage = DistributedResults | { readonly failed: string };

type Log = (message: string) => void;

/** Waits out the heartbeat + poll lag, then reads the summed worker statistics. */
async function settledStats(url: string): Promise<StatsSnapshot> {
  await sleep(settings.distributedStatsSettleMs);
  return readStats(url, MODEL_NAME);
}

/**
 * Distributed mode measured the way the embedded gateway is: output check, 64
 * connections, then the sequential client. Never throws: a failure is a result.
 */
export async function measureDistributed(
  bodies: readonly RequestBody[],
  expected: readonly Float32Array[],
  log: Log,
): Promise<DistributedStage> {
  let probe: RedisProbe;
  try {
    probe = await RedisProbe.connect(REDIS_URL);
  } catch (error) {
    return { failed: (error as Error).message };
  }
  const prefix = `swbench-${randomUUID().slice(0, 8)}`;
  const { durationSeconds: seconds, warmupSeconds: warmup, highConnections: many } = settings;
  try {
    const redisPid = await probe.localServerPid();
    const usedMemoryBeforeBytes = await probe.usedMemory();
    const runs = await withDistributed({ redisUrl: REDIS_URL, prefix }, async (d) => {
      const target: LoadTarget = { url: d.url, path: INFER_PATH, bodies: bodies.map((body) => body.json) };
      const outputCheck = await verifyOutputs(d.url, INFER_PATH, bodies, expected, many);
      log(
        `  output check: ${outputCheck.mismatches}/${outputCheck.requests} wrong, max abs error ${outputCheck.maxAbsError.toExponential(2)}`,
      );
      await runLoad(target, many, warmup, 0);
      const before = await settledStats(d.url);
      const others = { worker: d.workerPid, ...(redisPid === undefined ? {} : { redis: redisPid }) };
      const c64 = await runLoad(target, many, seconds, 0, d.gatewayPid, others);
      const batchingAt64 = batchingBetween(before, await settledStats(d.url));
      const sequential = await measureSequential(target, settings.sequentialRequests);
      const usedMemoryAfterRunsBytes = await probe.usedMemory();
      const prefixAfterRuns = await keyCensus(probe, prefix);
      log(
        `  paired rounds: embedded gateway started beside it, ${settings.pairedRounds} alternating runs of ${seconds} s each at ${many} connections`,
      );
      const paired = await withChildServer(embeddedGatewayOptions('embedded gateway (paired rounds)'), (embedded) =>
        measurePairedRounds(
          { target: { ...target, url: embedded.url }, serverPid: embedded.pid },
          { target, serverPid: d.gatewayPid, otherPids: others },
          { rounds: settings.pairedRounds, seconds, warmupSeconds: warmup, connections: many },
          (pair, index) =>
            log(
              `    round ${index + 1}: embedded ${pair.embedded.requestsPerSecond} req/s, distributed ${pair.distributed.requestsPerSecond} req/s -> ${pair.ratio}`,
            ),
        ),
      );
      return { c64, batchingAt64, sequential, paired, outputCheck, usedMemoryAfterRunsBytes, prefixAfterRuns, logs: d.logs() };
    });
    const keysDeleted = await probe.deletePrefix(prefix);
    const usedMemoryAfterCleanupBytes = await probe.usedMemory();
    const { usedMemoryAfterRunsBytes, prefixAfterRuns, ...measured } = runs;
    return {
      redisUrl: REDIS_URL,
      prefix,
      workerCpuCount: settings.cpuCount,
      ...measured,
      redis: { usedMemoryBeforeBytes, usedMemoryAfterRunsBytes, usedMemoryAfterCleanupBytes, prefixAfterRuns, keysDeleted },
    };
  } catch (error) {
    return { failed: (error as Error).stack ?? String(error) };
  } finally {
    await probe.deletePrefix(prefix).catch(() => undefined);
    await probe.close();
  }
}
