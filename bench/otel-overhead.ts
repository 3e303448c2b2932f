/**
 * `npm run bench:otel`: what exporting traces costs the hot path. Two embedded gateways are up
 * at once, one with tracing off (no OTEL_* set) and one exporting over OTLP/HTTP to a receiver
 * in this process, sampling 10 % of new traces (parentbased_traceidratio 0.1, the load sends no
 * traceparent); 64-connection runs alternate between them, so each ratio compares runs seconds
 * apart on this shared machine. Writes bench/results/otel-overhead.{json,md}.
 */
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { withChildServer } from './child-server.js';
import { embeddedGatewayOptions } from './embedded-gateway.js';
import type { LoadResult } from './load.js';
import { currentLoadAverage, machineInfo } from './machine-info.js';
import { measureSpanCostInChild, type SpanCost } from './otel-span-cost.js';
import { measurePairedRounds } from './paired-rounds.js';
import { makeRequestBodies } from './request-bodies.js';
import { INFER_PATH, RESULTS_DIR, settings } from './settings.js';
import { mean, median, round } from './stats.js';

const SAMPLE_RATIO = 0.1;
/** More, shorter rounds than the main bench's pairs: on a loaded machine single runs swing by 3x, and a median of many pairs steadies. */
const ROUNDS = Number(process.env.BENCH_OTEL_ROUNDS ?? 12);
const SECONDS = Number(process.env.BENCH_OTEL_SECONDS ?? 5);
const log = (message: string): void => console.log(`[otel ${new Date().toISOString().slice(11, 19)}] ${message}`);

/** A collector stand-in: accepts every export (200, empty ExportTraceServiceResponse) and counts them. */
async function countingReceiver(): Promise<{
  endpoint: string;
  exports: () => { requests: number; bytes: number };
  close: () => Promise<void>;
}> {
  let requests = 0;
  let bytes = 0;
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => {
      requests += 1;
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports: () => ({ requests, bytes }),
    close: () => new Promise((done) => server.close(() => done())),
  };
}

const side = (run: LoadResult) => ({
  requestsPerSecond: run.requestsPerSecond,
  p50Ms: run.latencyMs.p50,
  p99Ms: run.latencyMs.p99,
  gatewayCpuPercent: run.serverCpuPercent ?? 0,
  /** Gateway CPU per answered request, in microseconds: the cost that does not hide behind a saturated core. */
  cpuUsPerRequest: run.requestsPerSecond > 0 ? round(((run.serverCpuPercent ?? 0) / 100 / run.requestsPerSecond) * 1e6, 1) : 0,
  failed: run.non2xx + run.errors,
});

async function main(): Promise<void> {
  const machine = machineInfo();
  const bodies = makeRequestBodies(settings.bodyCount).map((body) => body.json);
  const receiver = await countingReceiver();
  const base = embeddedGatewayOptions('tracing-off');
  const traced = {
    ...base,
    name: 'tracing-on',
    env: {
      ...base.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: String(SAMPLE_RATIO),
      OTEL_BSP_SCHEDULE_DELAY: '1000',
    },
  };
  try {
    const paired = await withChildServer(base, (off) =>
      withChildServer(traced, (on) =>
        measurePairedRounds(
          { target: { url: off.url, path: INFER_PATH, bodies }, serverPid: off.pid },
          { target: { url: on.url, path: INFER_PATH, bodies }, serverPid: on.pid },
          {
            rounds: ROUNDS,
            seconds: SECONDS,
            warmupSeconds: settings.warmupSeconds,
            connections: settings.highConnections,
          },
          ({ embedded: a, distributed: b, ratio }, index) =>
            log(
              `round ${index + 1}: off ${a.requestsPerSecond} req/s (cpu ${a.serverCpuPercent} %, p50 ${a.latencyMs.p50} ms), on ${b.requestsPerSecond} req/s (cpu ${b.serverCpuPercent} %, p50 ${b.latencyMs.p50} ms) -> ${ratio}`,
            ),
        ),
      ),
    );
    // The last batch of spans goes out within the schedule delay.
    await new Promise((done) => setTimeout(done, 1500));
    const exported = { ...receiver.exports() };
    log('span cost: the tracing calls alone, in a process of their own');
    const spanCost = await measureSpanCostInChild(receiver.endpoint);
    log(`span cost, CPU µs per request: ${JSON.stringify(spanCost.cpuUsPerRequest)}`);
    const rounds = paired.rounds.map((r) => ({ off: side(r.embedded), on: side(r.distributed), ratio: r.ratio }));
    const cpuRatios = rounds.map((r) => (r.off.cpuUsPerRequest > 0 ? round(r.on.cpuUsPerRequest / r.off.cpuUsPerRequest, 3) : 0));
    const answeredOn = paired.rounds.reduce((sum, r) => sum + r.distributed.responses2xx, 0);
    const result = {
      machine,
      loadAverageAtEnd: currentLoadAverage(),
      sampler: `parentbased_traceidratio ${SAMPLE_RATIO}`,
      connections: paired.connections,
      secondsPerRun: paired.secondsPerRun,
      rounds,
      /** tracing-on / tracing-off throughput, median of the rounds. */
      medianThroughputRatio: paired.medianRatio,
      meanThroughputRatio: round(mean(paired.rounds.map((r) => r.ratio)), 3),
      /** tracing-on / tracing-off gateway CPU per request, median of the rounds. */
      medianCpuPerRequestRatio: round(median(cpuRatios), 3),
      exported: { ...exported, measuredRequestsOn: answeredOn },
      spanCost,
      /** The tracing calls' CPU per request at the sampled ratio: unsampled x 0.9 + sampled x 0.1, over off. */
      spanCostAtRatioUs: round(
        SAMPLE_RATIO * spanCost.cpuUsPerRequest['on, sampled'] + (1 - SAMPLE_RATIO) * spanCost.cpuUsPerRequest['on, unsampled'],
        2,
      ),
    };
    await writeFile(join(RESULTS_DIR, 'otel-overhead.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(join(RESULTS_DIR, 'otel-overhead.md'), markdown(result));
    log(
      `on / off throughput: median ${result.medianThroughputRatio} (mean ${result.meanThroughputRatio}); CPU per request: median ${result.medianCpuPerRequestRatio}`,
    );
  } finally {
    await receiver.close();
  }
}

function markdown(result: {
  machine: ReturnType<typeof machineInfo>;
  loadAverageAtEnd: number;
  sampler: string;
  connections: number;
  secondsPerRun: number;
  rounds: { off: ReturnType<typeof side>; on: ReturnType<typeof side>; ratio: number }[];
  medianThroughputRatio: number;
  meanThroughputRatio: number;
  medianCpuPerRequestRatio: number;
  exported: { requests: number; bytes: number; measuredRequestsOn: number };
  spanCost: SpanCost;
  spanCostAtRatioUs: number;
}): string {
  const { machine } = result;
  return [
    `# Tracing on (${result.sampler}) vs off, ${result.connections} connections, ${result.secondsPerRun} s runs alternated`,
    '',
    `Two embedded gateways (mlp-classifier, JSON bodies, no traceparent sent), up at once; runs alternate off, on.`,
    `The traced one exports OTLP/HTTP protobuf to a receiver in the bench process. ${machine.cpuModel}, ${machine.cores} cores,`,
    `Node ${machine.nodeVersion}, commit ${machine.gitCommit}; load average ${machine.loadAverageAtStart} at start, ${result.loadAverageAtEnd} at end (shared machine).`,
    '',
    '| round | off req/s | on req/s | on/off | off CPU µs/req | on CPU µs/req | off p50 ms | on p50 ms | off p99 ms | on p99 ms | failed |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...result.rounds.map(
      (r, i) =>
        `| ${i + 1} | ${r.off.requestsPerSecond} | ${r.on.requestsPerSecond} | ${r.ratio} | ${r.off.cpuUsPerRequest} | ${r.on.cpuUsPerRequest} | ${r.off.p50Ms} | ${r.on.p50Ms} | ${r.off.p99Ms} | ${r.on.p99Ms} | ${r.off.failed + r.on.failed} |`,
    ),
    '',
    `Throughput on/off: median ${result.medianThroughputRatio}, mean ${result.meanThroughputRatio}. Gateway CPU per request on/off: median ${result.medianCpuPerRequestRatio}.`,
    `Exported: ${result.exported.requests} OTLP requests, ${result.exported.bytes} bytes, for ${result.exported.measuredRequestsOn} measured requests on the traced gateway (plus warm-ups).`,
    '',
    '## The tracing calls alone',
    '',
    `One request's tracing work (request span, four steps, queue, batch and runtime spans, export) in a loop in a process of`,
    `its own, blocks of ${result.spanCost.requestsPerBlock} requests alternating the modes, median of ${result.spanCost.rounds} rounds, CPU time (not wall time):`,
    '',
    '| mode | CPU µs per request |',
    '|---|---|',
    ...Object.entries(result.spanCost.cpuUsPerRequest).map(([mode, us]) => `| ${mode} | ${us} |`),
    `| on, ${result.sampler} (0.9 unsampled + 0.1 sampled) | ${result.spanCostAtRatioUs} |`,
    '',
    `Compare with the gateway's CPU per request above (off column).`,
    '',
  ].join('\n');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
