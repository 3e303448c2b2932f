import { createServer } from 'node:net';
import { drivePhase } from './loadtest/autocannon-driver.js';
import { driveGrpcPhase } from './loadtest/grpc-driver.js';
import { RequestSchedule } from './loadtest/request-schedule.js';
import { RunRecorder } from './loadtest/run-recorder.js';
import type { PreparedRequest } from './loadtest/request-bodies.js';
import { joinBinaryBody } from '../gateway/protocol/binary-body.js';
import { withChildServer } from './child-server.js';
import { cpuSeconds } from './proc-stats.js';
import { mainThreadCpuSeconds } from './grpc-thread-cpu.js';
import { embeddedGatewayOptions } from './embedded-gateway.js';
import { makeRequestBodies } from './request-bodies.js';
import { INFER_PATH, settings } from './settings.js';

/** One protocol's run at `connections` callers: throughput and client-side latency over answered calls. */
export interface ProtocolRun {
  readonly protocol: 'http-binary' | 'grpc-unary' | 'grpc-stream';
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly answered: number;
  readonly failed: number;
  /** The gateway process's CPU (all threads) per answered call, microseconds: its cost per call whoever the client is. */
  readonly serverCpuUsPerCall?: number;
  /** The gateway's main thread alone (where both front ends and the pipeline run; inference is on worker threads), per answered call. */
  readonly mainThreadCpuUsPerCall?: number;
  /** The bench process's CPU (the load generator, sharing the machine) per answered call, microseconds. */
  readonly clientCpuUsPerCall?: number;
}

/** One round: each protocol once, seconds apart. */
export interface GrpcRound {
  readonly runs: readonly ProtocolRun[];
  readonly unaryRatio: number;
  readonly streamRatio: number;
}

export interface GrpcVsHttp {
  readonly connections: number;
  readonly seconds: number;
  readonly rounds: readonly GrpcRound[];
  /** Per protocol, the median over rounds of req/s, p50 and p99 (answered and failed are totals). */
  readonly runs: readonly ProtocolRun[];
  /** Medians over rounds of gRPC unary and streaming throughput over HTTP binary's in the same round. */
  readonly unaryRatio: number;
  readonly streamRatio: number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The bench bodies as raw FP32 tensors in Triton's binary extension: what gRPC's raw_input_contents carry too. */
function binaryRequests(count: number): PreparedRequest[] {
  return makeRequestBodies(count).map(({ input }) => {
    const bytes = new Uint8Array(input.buffer);
    const tensor = { name: 'input', datatype: 'FP32', shape: [1, input.length], parameters: { binary_data_size: bytes.byteLength } };
    const header = JSON.stringify({ inputs: [tensor] });
    const { body, headerLength } = joinBinaryBody(header, [bytes]);
    const headers = { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) };
    return { path: INFER_PATH, headers, body: Buffer.from(body) };
  });
}

const round = (value: number, places = 2): number => Math.round(value * 10 ** places) / 10 ** places;
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export const PROTOCOLS = ['http-binary', 'grpc-unary', 'grpc-stream'] as const;

/**
 * Unary calls share one HTTP/2 connection, as tritonclient sends them: one
 * tritonclient.grpc.InferenceServerClient is one gRPC channel, every infer and async_infer
 * multiplexed on it (and gRPC's C core shares one connection between a process's channels of the
 * same target and options). HTTP's 64 connections are tritonclient.http's too: one per request in
 * flight (its connection pool is its `concurrency`).
 */
export const UNARY_CONNECTIONS = 1;

/** One protocol's closed-loop run against a running gateway (HTTP at `url`, gRPC at `grpcAddress`). */
export async function runProtocol(
  protocol: ProtocolRun['protocol'],
  target: { readonly url: string; readonly grpcAddress: string },
  connections: number,
  durationS: number,
  serverPid?: number,
  grpcConnections = protocol === 'grpc-unary' ? UNARY_CONNECTIONS : undefined,
  /** Calls per second in all (open loop, spread over the callers); undefined: closed loop, as fast as answered. */
  rate?: number,
): Promise<ProtocolRun> {
  const requests = binaryRequests(settings.bodyCount);
  const schedule = new RequestSchedule([{ kind: 'mlp', weight: 1, requests }], {});
  const recorder = new RunRecorder();
  recorder.startPhase(0);
  const load = { target: target.url, connections, rate, durationS, timeoutS: 30 };
  const cpuBefore = serverPid === undefined ? 0 : await cpuSeconds(serverPid);
  const mainBefore = serverPid === undefined ? 0 : await mainThreadCpuSeconds(serverPid);
  const clientBefore = process.cpuUsage();
  const { activeS } =
    protocol === 'http-binary'
      ? await drivePhase(load, schedule, recorder)
      : await driveGrpcPhase(
          {
            ...load,
            grpcAddress: target.grpcAddress,
            streaming: protocol === 'grpc-stream',
            rawUnary: true,
            ...(grpcConnections ? { grpcConnections } : {}),
          },
          schedule,
          recorder,
        );
  const client = process.cpuUsage(clientBefore);
  const totals = recorder.total.summary();
  const answered = totals.outcomes.ok;
  const { p50Ms, p99Ms } = totals.latency;
  const cpu =
    serverPid === undefined || answered === 0
      ? undefined
      : {
          serverCpuUsPerCall: round((((await cpuSeconds(serverPid)) - cpuBefore) * 1e6) / answered, 1),
          mainThreadCpuUsPerCall: round((((await mainThreadCpuSeconds(serverPid)) - mainBefore) * 1e6) / answered, 1),
          clientCpuUsPerCall: round((client.user + client.system) / answered, 1),
        };
  return { protocol, requestsPerSecond: round(answered / activeS, 1), p50Ms, p99Ms, answered, failed: totals.sent - answered, ...cpu };
}

/**
 * HTTP (binary tensors, autocannon) against gRPC unary and streaming (raw tensors) at the
 * same concurrency on one embedded gateway, in alternating rounds (the order rotates each
 * round) so each ratio compares runs seconds apart on a shared machine; the load generators
 * run on the same machine as the gateway, as the rest of the bench does.
 */
export async function measureGrpcVsHttp(
  log: (line: string) => void,
  connections = settings.highConnections,
  seconds = settings.durationSeconds,
  warmup = settings.warmupSeconds,
  rounds = settings.pairedRounds,
): Promise<GrpcVsHttp> {
  const grpcPort = await freePort();
  const base = embeddedGatewayOptions('gateway-grpc');
  return withChildServer({ ...base, env: { ...base.env, GRPC_PORT: String(grpcPort) } }, async (server) => {
    const target = { url: server.url, grpcAddress: `127.0.0.1:${grpcPort}` };
    for (const protocol of PROTOCOLS) await runProtocol(protocol, target, connections, warmup);
    const results: GrpcRound[] = [];
    for (let index = 0; index < rounds; index += 1) {
      const order = PROTOCOLS.map((_, offset) => PROTOCOLS[(index + offset) % PROTOCOLS.length]!);
      const measured = new Map<ProtocolRun['protocol'], ProtocolRun>();
      for (const protocol of order) measured.set(protocol, await runProtocol(protocol, target, connections, seconds, server.pid));
      const [http, unary, stream] = PROTOCOLS.map((protocol) => measured.get(protocol)!) as [ProtocolRun, ProtocolRun, ProtocolRun];
      const ratio = (run: ProtocolRun): number =>
        http.requestsPerSecond > 0 ? round(run.requestsPerSecond / http.requestsPerSecond, 3) : 0;
      const row: GrpcRound = { runs: [http, unary, stream], unaryRatio: ratio(unary), streamRatio: ratio(stream) };
      results.push(row);
      log(
        `  round ${index + 1}: ${row.runs.map((run) => `${run.protocol} ${run.requestsPerSecond} req/s p50 ${run.p50Ms} p99 ${run.p99Ms} ms, server ${run.serverCpuUsPerCall} (main thread ${run.mainThreadCpuUsPerCall}) / client ${run.clientCpuUsPerCall} us/call${run.failed ? ` ${run.failed} failed` : ''}`).join('; ')}; unary/HTTP ${row.unaryRatio}, stream/HTTP ${row.streamRatio}`,
      );
    }
    const medianOf = (protocol: ProtocolRun['protocol'], pick: (run: ProtocolRun) => number): number =>
      round(median(results.map((r) => pick(r.runs.find((run) => run.protocol === protocol)!))), 2);
    const runs = PROTOCOLS.map(
      (protocol): ProtocolRun => ({
        protocol,
        requestsPerSecond: medianOf(protocol, (run) => run.requestsPerSecond),
        p50Ms: medianOf(protocol, (run) => run.p50Ms),
        p99Ms: medianOf(protocol, (run) => run.p99Ms),
        serverCpuUsPerCall: medianOf(protocol, (run) => run.serverCpuUsPerCall ?? 0),
        mainThreadCpuUsPerCall: medianOf(protocol, (run) => run.mainThreadCpuUsPerCall ?? 0),
        clientCpuUsPerCall: medianOf(protocol, (run) => run.clientCpuUsPerCall ?? 0),
        answered: results.reduce((sum, r) => sum + r.runs.find((run) => run.protocol === protocol)!.answered, 0),
        failed: results.reduce((sum, r) => sum + r.runs.find((run) => run.protocol === protocol)!.failed, 0),
      }),
    );
    return {
      connections,
      seconds,
      rounds: results,
      runs,
      unaryRatio: round(median(results.map((r) => r.unaryRatio)), 3),
      streamRatio: round(median(results.map((r) => r.streamRatio)), 3),
    };
  });
}
