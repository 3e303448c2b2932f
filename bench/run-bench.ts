/**
 * `npm run bench`: the serving-core benchmark, every stage in one run so that ratios
 * compare figures taken minutes apart on the same (shared, noisy) machine.
 * Order: compute limit in process, then one child server at a time: HTTP ceiling,
 * naive server, gateway (throughput, latency, RSS soak), gRPC vs HTTP, the hot path (npm start
 * defaults against the ceiling, alternating), cheap tier, then distributed mode (gateway
 * + one worker + Redis: throughput, latency, Redis memory), and last the compute-bound
 * recognizer against its best raw layout (its own script and report, bench/recognizer/;
 * BENCH_RECOGNIZER=0 leaves it out). Misses are reported; only breakage (a crash, errors,
 * wrong answers) makes the exit status non-zero.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { withChildServer } from './child-server.js';
import { measureComputeLimit } from './compute-limit.js';
import { batchingBetween, readStats } from './gateway-stats.js';
import { runLoad, type LoadResult, type LoadTarget } from './load.js';
import { measureCheapTier } from './cheap-tier.js';
import { writeGrpcReport } from './grpc-bench.js';
import { writeHotPathReport } from './hot-path-bench.js';
import { measureHotPath } from './hot-path.js';
import { measureGrpcVsHttp } from './grpc-vs-http.js';
import { measureDistributed } from './distributed-stage.js';
import { embeddedGatewayOptions } from './embedded-gateway.js';
import { currentLoadAverage, machineInfo } from './machine-info.js';
import { writeReports } from './report.js';
import { makeRequestBodies } from './request-bodies.js';
import type { BenchResults, Measurements } from './results.js';
import { rssSoak } from './rss-soak.js';
import { measureSequential, type SequentialLatency } from './sequential-latency.js';
import { INFER_PATH, MODEL_NAME, MODEL_PATH, REDIS_URL, REPO_ROOT, RESULTS_DIR, settings } from './settings.js';
import { evaluateTargets, findProblems } from './targets.js';
import { verifyOutputs } from './verify-outputs.js';
import { SERVING_NODE_FLAGS } from '../workers/runtime/serving-node-flags.js';

const SERVERS = resolve(import.meta.dirname, 'servers');
const log = (message: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
const describeLoad = (run: LoadResult): string =>
  `${run.requestsPerSecond} req/s, p50 ${run.latencyMs.p50} ms, p99 ${run.latencyMs.p99} ms, ${run.non2xx + run.errors} failed, ` +
  `CPU client ${run.clientCpuPercent} % server ${run.serverCpuPercent ?? '?'} %`;
const describeSequential = (s: SequentialLatency): string => `p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms over ${s.requests} requests`;

async function main(): Promise<number> {
  const started = performance.now();
  const machine = machineInfo();
  log(`${machine.cpuModel}, ${machine.cores} cores, Node ${machine.nodeVersion}, load average ${machine.loadAverageAtStart}`);
  const { durationSeconds: seconds, warmupSeconds: warmup, highConnections: many } = settings;
  const bodies = makeRequestBodies(settings.bodyCount);
  const jsonBodies = bodies.map((body) => body.json);
  const targetAt = (url: string): LoadTarget => ({ url, path: INFER_PATH, bodies: jsonBodies });

  log('compute limit: onnxruntime-node in process');
  const { expected, ...computeLimit } = await measureComputeLimit(
    MODEL_PATH,
    bodies,
    settings.batchSizes,
    settings.computeSecondsPerBatch,
    settings.rawLatencyRuns,
  );
  for (const b of computeLimit.batches) log(`  batch ${b.batchSize}: ${b.samplesPerSecond} samples/s (median run ${b.medianRunMs} ms)`);
  log(`  raw batch-1 latency p50 ${computeLimit.rawLatencyBatch1.p50Ms} ms, p99 ${computeLimit.rawLatencyBatch1.p99Ms} ms`);

  const childBase = { cwd: REPO_ROOT, readyPath: '/v2/health/ready' };

  log('HTTP ceiling: fastify child, no inference');
  const httpCeiling = await withChildServer(
    { ...childBase, name: 'http-ceiling', script: resolve(SERVERS, 'http-ceiling.js') },
    async (server) => {
      const c64 = await runLoad(targetAt(server.url), many, seconds, warmup, server.pid);
      log(`  @${many}: ${describeLoad(c64)}`);
      const sequential = await measureSequential(targetAt(server.url), settings.sequentialRequests);
      log(`  sequential: ${describeSequential(sequential)}`);
      return { c64, sequential };
    },
  );

  log('naive server: fastify child + one session on the main thread');
  const naive = await withChildServer({ ...childBase, name: 'naive', script: resolve(SERVERS, 'naive.js') }, async (server) => {
    const outputCheck = await verifyOutputs(server.url, INFER_PATH, bodies, expected, many);
    const c64 = await runLoad(targetAt(server.url), many, seconds, warmup, server.pid);
    log(`  @${many}: ${describeLoad(c64)}`);
    const c1 = await runLoad(targetAt(server.url), 1, seconds, warmup, server.pid);
    log(`  @1: ${describeLoad(c1)}`);
    const sequential = await measureSequential(targetAt(server.url), settings.sequentialRequests);
    log(`  sequential: ${describeSequential(sequential)}`);
    return { c64, c1, sequential, outputCheck };
  });

  log('gateway: node dist/gateway/server.js (embedded mode)');
  const gatewayOptions = embeddedGatewayOptions();
  const gateway = await withChildServer(gatewayOptions, async (server) => {
    const target = targetAt(server.url);
    const outputCheck = await verifyOutputs(server.url, INFER_PATH, bodies, expected, many);
    log(
      `  output check: ${outputCheck.mismatches}/${outputCheck.requests} wrong, max abs error ${outputCheck.maxAbsError.toExponential(2)}`,
    );
    // Warm up here, not inside runLoad, so the statistics window covers only the measured run.
    await runLoad(target, many, warmup, 0);
    const before64 = await readStats(server.url, MODEL_NAME);
    const c64 = await runLoad(target, many, seconds, 0, server.pid);
    const batchingAt64 = batchingBetween(before64, await readStats(server.url, MODEL_NAME));
    log(`  @${many}: ${describeLoad(c64)}, mean batch ${batchingAt64.meanBatchSize}`);
    const c1 = await runLoad(target, 1, seconds, warmup, server.pid);
    log(`  @1: ${describeLoad(c1)}`);
    const sequential = await measureSequential(target, settings.sequentialRequests);
    log(
      `  sequential: ${describeSequential(sequential)}, server queue p50 ${sequential.serverQueueP50Ms} ms, compute p50 ${sequential.serverComputeP50Ms} ms`,
    );
    log(`  RSS soak: ${many} connections for ${settings.soakSeconds} s`);
    const beforeSoak = await readStats(server.url, MODEL_NAME);
    const soak = await rssSoak(target, server.pid, many, settings.soakSeconds);
    const batchingDuringSoak = batchingBetween(beforeSoak, await readStats(server.url, MODEL_NAME));
    log(`  RSS ${soak.rssWarmMb} MB at ${soak.warmAtSecond} s -> ${soak.rssEndMb} MB: ${soak.growthPercent} %; ${describeLoad(soak.load)}`);
    return { c64, batchingAt64, c1, sequential, outputCheck, soak, batchingDuringSoak, log: server.output() };
  });

  log(`gRPC vs HTTP: one gateway, ${many} concurrent calls (HTTP binary, gRPC unary, gRPC streaming)`);
  const grpc = await measureGrpcVsHttp(log, many, seconds, warmup);
  const grpcFiles = await writeGrpcReport(grpc, machine);
  log(`  unary/HTTP ${grpc.unaryRatio}, stream/HTTP ${grpc.streamRatio}; ${grpcFiles.markdown}`);

  log('hot path: the gateway as npm start runs it (info logging) vs the bare fastify ceiling and one raw inference, alternating');
  const hotPath = await measureHotPath(log);
  const hotPathFiles = await writeHotPathReport(hotPath, machine);
  log(`  median ratio ${hotPath.medianRatio}, median overhead ${hotPath.medianOverheadMs} ms; ${hotPathFiles.markdown}`);

  log('cheap tier: the shipped classify route (int8 first, fp32 when unsure) vs fp32, same gateway');
  const cheapTier = await withChildServer(
    { ...gatewayOptions, name: 'gateway-routes', env: { ...gatewayOptions.env, SWITCHYARD_CONFIG: resolve(REPO_ROOT, 'switchyard.yaml') } },
    async (server) => {
      const distinct = makeRequestBodies(settings.sequentialRequests).map((body) => body.json);
      const stage = await measureCheapTier(server.url, jsonBodies, distinct, many, seconds, warmup, server.pid);
      log(`  fp32: ${describeLoad(stage.fp32.c64)}, mean cost ${stage.fp32.meanCostUsd.toExponential(3)} USD`);
      log(
        `  cascade: ${describeLoad(stage.cascade.c64)}, mean cost ${stage.cascade.meanCostUsd.toExponential(3)} USD, escalated ${stage.cascade.escalatedPercent} %, top class = fp32 ${stage.cascade.agreementPercent} %`,
      );
      return stage;
    },
  );

  log(`distributed: gateway + 1 worker (CPU_COUNT=${settings.cpuCount}) + Redis at ${REDIS_URL}`);
  const distributed = await measureDistributed(bodies, expected, log);
  if ('failed' in distributed) {
    log(`  FAILED: ${distributed.failed}`);
  } else {
    const { c64, batchingAt64, sequential, redis } = distributed;
    log(
      `  @${many}: ${describeLoad(c64)} worker ${c64.otherCpuPercent?.worker ?? '?'} % redis ${c64.otherCpuPercent?.redis ?? '?'} %, mean batch ${batchingAt64.meanBatchSize}`,
    );
    log(
      `  sequential: ${describeSequential(sequential)}, server queue p50 ${sequential.serverQueueP50Ms} ms, compute p50 ${sequential.serverComputeP50Ms} ms`,
    );
    log(
      `  redis used_memory ${redis.usedMemoryBeforeBytes} -> ${redis.usedMemoryAfterRunsBytes} B; ${redis.prefixAfterRuns.keys} keys (${redis.prefixAfterRuns.bytes} B) under ${distributed.prefix}`,
    );
  }

  let recognizerFailed = false;
  if (process.env.BENCH_RECOGNIZER !== '0') {
    log('recognizer: the gateway (tuned and untuned) vs the best raw layout of the compute-bound text-recognizer');
    const run = spawnSync(
      process.execPath,
      [...SERVING_NODE_FLAGS, resolve(import.meta.dirname, 'recognizer', 'run-recognizer-bench.js')],
      {
        cwd: REPO_ROOT,
        stdio: 'inherit',
      },
    );
    recognizerFailed = run.status !== 0;
  }

  const measurements: Measurements = {
    machine: { ...machine, loadAverageAtEnd: currentLoadAverage(), benchSeconds: Math.round((performance.now() - started) / 1000) },
    settings: { ...settings, modelPath: MODEL_PATH },
    computeLimit,
    httpCeiling,
    naive,
    gateway,
    cheapTier,
    distributed,
  };
  const results: BenchResults = { ...measurements, targets: evaluateTargets(measurements), problems: findProblems(measurements) };
  const files = await writeReports(results, RESULTS_DIR);

  console.log('');
  for (const t of results.targets)
    console.log(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.value} (target ${t.threshold}) — ${t.measured}`);
  for (const p of results.problems) console.log(`PROBLEM  ${p}`);
  if (recognizerFailed) console.log('PROBLEM  the recognizer bench failed (its output is above)');
  console.log(`\nwrote ${files.json}\nwrote ${files.markdown}`);
  return results.problems.length > 0 || recognizerFailed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1); // the exit hook in child-server.ts kills any child still running
  },
);
