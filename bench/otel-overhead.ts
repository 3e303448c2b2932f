/**
 * `npm run bench:otel`: what exporting traces costs the hot path. Three embedded gateways are up
 * at once: tracing off (no OTEL_* set), tracing on (OTLP/HTTP to a receiver in this process,
 * sampling 10 % of new traces: parentbased_traceidratio 0.1, the load sends no traceparent), and
 * a second tracing-off one as a control for the machine's noise. 64-connection runs rotate
 * between them, so each ratio compares runs seconds apart on this shared machine; then the
 * tracing calls alone are timed in CPU per request. Writes bench/results/otel-overhead.{json,md}.
 */
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { withChildServer } from './child-server.js';
import { embeddedGatewayOptions } from './embedded-gateway.js';
import { runLoad, type LoadResult } from './load.js';
import { currentLoadAverage, machineInfo } from './machine-info.js';
import { measureSpanCostInChild, type SpanCost } from './otel-span-cost.js';
import { pairRatio } from './paired-rounds.js';
import { makeRequestBodies } from './request-bodies.js';
import { INFER_PATH, RESULTS_DIR, settings } from './settings.js';
import { median, round } from './stats.js';

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

type Side = 'off' | 'on' | 'control';
const SIDES: readonly Side[] = ['off', 'on', 'control'];

interface Round {
  readonly order: readonly Side[];
  readonly off: ReturnType<typeof side>;
  readonly on: ReturnType<typeof side>;
  readonly control: ReturnType<typeof side>;
  /** on / off and control / off throughput. */
  readonly ratio: number;
  readonly controlRatio: number;
}

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
    const rounds = await withChildServer(base, (off) =>
      withChildServer(traced, (on) =>
        withChildServer({ ...base, name: 'control' }, async (control) => {
          const servers = { off, on, control };
          const load = (name: Side, seconds: number, warmup = 0) =>
            runLoad({ url: servers[name].url, path: INFER_PATH, bodies }, settings.highConnections, seconds, warmup, servers[name].pid);
          for (const name of SIDES) await load(name, settings.warmupSeconds);
          const measured: Round[] = [];
          for (let index = 0; index < ROUNDS; index += 1) {
            // The order rotates, so no side always runs first or right after another.
            const order = SIDES.map((_, i) => SIDES[(i + index) % SIDES.length]!);
            const runs = {} as Record<Side, LoadResult>;
            for (const name of order) runs[name] = await load(name, SECONDS);
            const ratioTo = (name: Side): number => pairRatio(runs.off.requestsPerSecond, runs[name].requestsPerSecond);
            const entry: Round = {
              order,
              off: side(runs.off),
              on: side(runs.on),
              control: side(runs.control),
              ratio: ratioTo('on'),
              controlRatio: ratioTo('control'),
            };
            measured.push(entry);
            log(
              `round ${index + 1} (${order.join(', ')}): off ${entry.off.requestsPerSecond} req/s ${entry.off.cpuUsPerRequest} µs/req, ` +
                `on ${entry.on.requestsPerSecond} req/s ${entry.on.cpuUsPerRequest} µs/req, control ${entry.control.requestsPerSecond} req/s ${entry.control.cpuUsPerRequest} µs/req -> on/off ${entry.ratio}, control/off ${entry.controlRatio}`,
            );
          }
          return measured;
        }),
      ),
    );
    // The last batch of spans goes out within the schedule delay.
    await new Promise((done) => setTimeout(done, 1500));
    const exported = { ...receiver.exports() };
    log('span cost: the tracing calls alone, in a process of their own');
    const spanCost = await measureSpanCostInChild(receiver.endpoint);
    log(`span cost, CPU µs per request: ${JSON.stringify(spanCost.cpuUsPerRequest)}`);
    const cpuRatio = (name: 'on' | 'control'): number =>
      round(median(rounds.map((r) => (r.off.cpuUsPerRequest > 0 ? r[name].cpuUsPerRequest / r.off.cpuUsPerRequest : 0))), 3);
    const result = {
      machine,
      loadAverageAtEnd: currentLoadAverage(),
      sampler: `parentbased_traceidratio ${SAMPLE_RATIO}`,
      connections: settings.highConnections,
      secondsPerRun: SECONDS,
      rounds,
      /** tracing-on / tracing-off throughput, median of the rounds; control / off is the same for two tracing-off gateways (the noise floor). */
      medianThroughputRatio: round(median(rounds.map((r) => r.ratio)), 3),
      medianControlRatio: round(median(rounds.map((r) => r.controlRatio)), 3),
      /** Gateway CPU per request over tracing-off's, median of the rounds. */
      medianCpuPerRequestRatio: cpuRatio('on'),
      medianControlCpuPerRequestRatio: cpuRatio('control'),
      exported: { ...exported, measuredRequestsOn: rounds.reduce((sum, r) => sum + Math.round(r.on.requestsPerSecond * SECONDS), 0) },
      spanCost,
      /** The tracing calls' CPU per request at the sampled ratio: unsampled x 0.9 + sampled x 0.1. */
      spanCostAtRatioUs: round(
        SAMPLE_RATIO * spanCost.cpuUsPerRequest['on, sampled'] + (1 - SAMPLE_RATIO) * spanCost.cpuUsPerRequest['on, unsampled'],
        2,
      ),
    };
    await writeFile(join(RESULTS_DIR, 'otel-overhead.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(join(RESULTS_DIR, 'otel-overhead.md'), markdown(result));
    log(
      `on / off throughput: median ${result.medianThroughputRatio} (control ${result.medianControlRatio}); CPU per request: median ${result.medianCpuPerRequestRatio} (control ${result.medianControlCpuPerRequestRatio})`,
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
  rounds: readonly Round[];
  medianThroughputRatio: number;
  medianControlRatio: number;
  medianCpuPerRequestRatio: number;
  medianControlCpuPerRequestRatio: number;
  exported: { requests: number; bytes: number; measuredRequestsOn: number };
  spanCost: SpanCost;
  spanCostAtRatioUs: number;
}): string {
  const { machine } = result;
  const cells = (s: ReturnType<typeof side>): string => `${s.requestsPerSecond} | ${s.cpuUsPerRequest} | ${s.p50Ms}`;
  return [
    `# Tracing on (${result.sampler}) vs off, ${result.connections} connections, ${result.secondsPerRun} s runs alternated`,
    '',
    'Three embedded gateways (mlp-classifier, JSON bodies, no traceparent sent) up at once: tracing off, tracing on, and a',
    'second tracing-off gateway as a control (what two identical gateways differ by here: the noise floor). Each round runs',
    'all three, in an order that rotates. The traced one exports OTLP/HTTP protobuf to a receiver in the bench process.',
    `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.nodeVersion}, commit ${machine.gitCommit}; load average`,
    `${machine.loadAverageAtStart} at start, ${result.loadAverageAtEnd} at end (a shared machine: other sessions' builds and tests ran meanwhile).`,
    '',
    '| round | order | off req/s | off CPU µs/req | off p50 ms | on req/s | on CPU µs/req | on p50 ms | control req/s | control CPU µs/req | control p50 ms | on/off | control/off |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...result.rounds.map(
      (r, i) =>
        `| ${i + 1} | ${r.order.join(', ')} | ${cells(r.off)} | ${cells(r.on)} | ${cells(r.control)} | ${r.ratio} | ${r.controlRatio} |`,
    ),
    '',
    `Throughput on/off: median ${result.medianThroughputRatio} (control/off ${result.medianControlRatio}). Gateway CPU per request`,
    `on/off: median ${result.medianCpuPerRequestRatio} (control/off ${result.medianControlCpuPerRequestRatio}).`,
    `Exported: ${result.exported.requests} OTLP requests, ${result.exported.bytes} bytes, for about ${result.exported.measuredRequestsOn} measured requests on the traced gateway (plus warm-ups).`,
    '',
    '## The tracing calls alone',
    '',
    "One request's tracing work (request span, four steps, queue, batch and runtime spans, export) in a loop in a process of",
    `its own, blocks of ${result.spanCost.requestsPerBlock} requests alternating the modes, median of ${result.spanCost.rounds} rounds, CPU time (not wall time):`,
    '',
    '| mode | CPU µs per request |',
    '|---|---|',
    ...Object.entries(result.spanCost.cpuUsPerRequest).map(([mode, us]) => `| ${mode} | ${us} |`),
    `| on, ${result.sampler} (0.9 unsampled + 0.1 sampled) | ${result.spanCostAtRatioUs} |`,
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
