/**
 * `node dist/bench/grpc-ab.js <before-checkout>`: this checkout's gateway against another
 * build of it (a checkout with `npm run build` done, e.g. `git worktree add /tmp/before <commit>`),
 * both running at once, in alternating rounds: gRPC unary (raw client, at GRPC_AB_CONNECTIONS
 * HTTP/2 connections, default 1 as the gRPC bench; GRPC_AB_MORE_CONNECTIONS=n adds a side of this
 * checkout at n) and HTTP binary on each, the order rotating each round; or, with GRPC_AB_RATE=n,
 * each protocol on both gateways at once at n calls/s each (open loop), so both sides meet the same
 * moments of a shared machine's noise. Per run: req/s, p50/p99, the gateway's CPU per call (all
 * threads and the main thread alone), the load generator's, and the load average. Writes
 * bench/results/grpc-ab.{json,md} (grpc-ab-rate.* with GRPC_AB_RATE).
 */
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, startChildServer, type ChildServer } from './child-server.js';
import { embeddedGatewayOptions } from './embedded-gateway.js';
import { runProtocol, type ProtocolRun, UNARY_CONNECTIONS } from './grpc-vs-http.js';
import { machineInfo } from './machine-info.js';
import { RESULTS_DIR, settings } from './settings.js';

/** Protocols run on both gateways at once in the fixed-rate mode. */
const PAIRED = ['grpc-unary', 'http-binary'] as const;

interface Side {
  readonly label: string;
  readonly protocol: ProtocolRun['protocol'];
  readonly gateway: 'before' | 'after';
  readonly grpcConnections?: number;
}

interface Measured extends ProtocolRun {
  readonly label: string;
  readonly round: number;
  readonly loadAverage: number;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function startGateway(root: string, name: string): Promise<{ server: ChildServer; grpcAddress: string }> {
  const grpcPort = await freePort();
  const base = embeddedGatewayOptions(name);
  const server = await startChildServer({
    ...base,
    script: resolve(root, 'dist', 'gateway', 'server.js'),
    cwd: root,
    env: { ...base.env, GRPC_PORT: String(grpcPort) },
  });
  return { server, grpcAddress: `127.0.0.1:${grpcPort}` };
}

async function main(): Promise<void> {
  const beforeRoot = process.argv[2];
  if (!beforeRoot) throw new Error('usage: node dist/bench/grpc-ab.js <checkout built before the change>');
  const log = (line: string): void => console.log(`[bench:grpc-ab ${new Date().toISOString().slice(11, 19)}] ${line}`);
  const connections = Number(process.env.GRPC_AB_CONNECTIONS ?? UNARY_CONNECTIONS);
  const more = Number(process.env.GRPC_AB_MORE_CONNECTIONS ?? 0);
  // In this cycle each gRPC side follows its own gateway's HTTP run and each HTTP side the other
  // gateway's gRPC run, so what a run inherits from the one before it (garbage, a warm batcher)
  // is the same for both sides of each comparison.
  const sides: Side[] = [
    { label: 'before grpc-unary', protocol: 'grpc-unary', gateway: 'before', grpcConnections: connections },
    { label: 'after http-binary', protocol: 'http-binary', gateway: 'after' },
    { label: 'after grpc-unary', protocol: 'grpc-unary', gateway: 'after', grpcConnections: connections },
    { label: 'before http-binary', protocol: 'http-binary', gateway: 'before' },
  ];
  if (more > 0)
    sides.push({ label: `after grpc-unary, ${more} connections`, protocol: 'grpc-unary', gateway: 'after', grpcConnections: more });
  const gateways = { before: await startGateway(beforeRoot, 'gateway-before'), after: await startGateway(process.cwd(), 'gateway-after') };
  const measured: Measured[] = [];
  try {
    for (const side of sides) {
      const { server, grpcAddress } = gateways[side.gateway];
      await runProtocol(
        side.protocol,
        { url: server.url, grpcAddress },
        settings.highConnections,
        settings.warmupSeconds,
        undefined,
        side.grpcConnections,
      );
    }
    const rate = process.env.GRPC_AB_RATE ? Number(process.env.GRPC_AB_RATE) : undefined;
    for (let round = 0; round < settings.pairedRounds && rate !== undefined; round += 1) {
      for (const protocol of round % 2 === 0 ? PAIRED : [...PAIRED].reverse()) {
        const pair = sides.filter(
          (side) => side.protocol === protocol && side.grpcConnections === (protocol === 'grpc-unary' ? connections : undefined),
        );
        const runs = await Promise.all(
          pair.map((side) => {
            const { server, grpcAddress } = gateways[side.gateway];
            return runProtocol(
              side.protocol,
              { url: server.url, grpcAddress },
              settings.highConnections,
              settings.durationSeconds,
              server.pid,
              side.grpcConnections,
              rate,
            );
          }),
        );
        const loadAverage = Math.round(loadavg()[0]! * 100) / 100;
        for (const [index, run] of runs.entries()) {
          measured.push({ ...run, label: pair[index]!.label, round: round + 1, loadAverage });
          log(
            `round ${round + 1} ${pair[index]!.label} at ${rate}/s beside the other: ${run.requestsPerSecond} req/s p50 ${run.p50Ms} p99 ${run.p99Ms} ms, gateway ${run.serverCpuUsPerCall} (main thread ${run.mainThreadCpuUsPerCall}) us/call, load ${loadAverage}`,
          );
        }
      }
    }
    for (let round = 0; round < settings.pairedRounds && rate === undefined; round += 1) {
      const order = sides.map((_, offset) => sides[(round + offset) % sides.length]!);
      for (const side of order) {
        const { server, grpcAddress } = gateways[side.gateway];
        const run = await runProtocol(
          side.protocol,
          { url: server.url, grpcAddress },
          settings.highConnections,
          settings.durationSeconds,
          server.pid,
          side.grpcConnections,
        );
        const row = { ...run, label: side.label, round: round + 1, loadAverage: Math.round(loadavg()[0]! * 100) / 100 };
        measured.push(row);
        log(
          `round ${round + 1} ${side.label}: ${run.requestsPerSecond} req/s p50 ${run.p50Ms} p99 ${run.p99Ms} ms, gateway ${run.serverCpuUsPerCall} (main thread ${run.mainThreadCpuUsPerCall}) / client ${run.clientCpuUsPerCall} us/call, load ${row.loadAverage}`,
        );
      }
    }
  } finally {
    await Promise.all([gateways.before.server.stop(), gateways.after.server.stop()]);
  }
  const summary = sides
    .filter((side) => measured.some((row) => row.label === side.label))
    .map((side) => {
      const runs = measured.filter((row) => row.label === side.label);
      const of = (pick: (run: Measured) => number | undefined): number => Math.round(median(runs.map((run) => pick(run) ?? 0)) * 10) / 10;
      return {
        label: side.label,
        requestsPerSecond: of((run) => run.requestsPerSecond),
        p50Ms: of((run) => run.p50Ms),
        p99Ms: of((run) => run.p99Ms),
        serverCpuUsPerCall: of((run) => run.serverCpuUsPerCall),
        mainThreadCpuUsPerCall: of((run) => run.mainThreadCpuUsPerCall),
        clientCpuUsPerCall: of((run) => run.clientCpuUsPerCall),
        failed: runs.reduce((sum, run) => sum + run.failed, 0),
      };
    });
  const loads = measured.map((row) => row.loadAverage);
  const name = process.env.GRPC_AB_RATE ? 'grpc-ab-rate' : 'grpc-ab';
  const machine = machineInfo();
  await writeFile(
    join(RESULTS_DIR, `${name}.json`),
    `${JSON.stringify({ machine, beforeRoot, connections, summary, runs: measured }, null, 2)}\n`,
  );
  await writeFile(
    join(RESULTS_DIR, `${name}.md`),
    [
      `# gRPC unary before / after, HTTP binary beside it (${settings.highConnections} concurrent calls, ${settings.durationSeconds} s runs)`,
      '',
      `Two embedded gateways (mlp-classifier) running at once: "before" from ${beforeRoot}, "after" this checkout; ${settings.pairedRounds} rounds, ${process.env.GRPC_AB_RATE ? `each protocol on both gateways at the same time at ${process.env.GRPC_AB_RATE} calls/s each (open loop; client CPU is both load generators')` : 'the order rotating each round'}. gRPC unary over ${connections} HTTP/2 connections (bench/grpc-h2-client.ts). ${machine.cpuModel}, ${machine.cores} cores; load average ${Math.min(...loads)}-${Math.max(...loads)} during the runs. Medians over rounds; CPU per answered call: the gateway (all threads), its main thread alone, and the load generator.`,
      '',
      '| side | req/s | p50 ms | p99 ms | gateway CPU us/call | main thread us/call | client CPU us/call | failed |',
      '|---|---|---|---|---|---|---|---|',
      ...summary.map(
        (row) =>
          `| ${row.label} | ${row.requestsPerSecond} | ${row.p50Ms} | ${row.p99Ms} | ${row.serverCpuUsPerCall} | ${row.mainThreadCpuUsPerCall} | ${row.clientCpuUsPerCall} | ${row.failed} |`,
      ),
      '',
      '| round | side | req/s | p50 / p99 ms | gateway / main thread / client us/call | load |',
      '|---|---|---|---|---|---|',
      ...measured.map(
        (row) =>
          `| ${row.round} | ${row.label} | ${row.requestsPerSecond} | ${row.p50Ms} / ${row.p99Ms} | ${row.serverCpuUsPerCall} / ${row.mainThreadCpuUsPerCall} / ${row.clientCpuUsPerCall} | ${row.loadAverage} |`,
      ),
      '',
    ].join('\n'),
  );
  log(`wrote bench/results/${name}.{json,md}`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) await main();
