import { createServer } from 'node:net';
import { drivePhase } from './loadtest/autocannon-driver.js';
import { driveGrpcPhase } from './loadtest/grpc-driver.js';
import { RequestSchedule } from './loadtest/request-schedule.js';
import { RunRecorder } from './loadtest/run-recorder.js';
import type { PreparedRequest } from './loadtest/request-bodies.js';
import { joinBinaryBody } from '../gateway/protocol/binary-body.js';
import { withChildServer } from './child-server.js';
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
}

export interface GrpcVsHttp {
  readonly connections: number;
  readonly seconds: number;
  readonly runs: readonly ProtocolRun[];
  /** gRPC unary and streaming throughput over HTTP binary's, on the same gateway minutes apart. */
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

/**
 * HTTP (binary tensors, autocannon) against gRPC unary and streaming (raw tensors) at the
 * same concurrency on one embedded gateway, each after a warm-up of its own; the load
 * generators run on the same machine as the gateway, as the rest of the bench does.
 */
export async function measureGrpcVsHttp(
  log: (line: string) => void,
  connections = settings.highConnections,
  seconds = settings.durationSeconds,
  warmup = settings.warmupSeconds,
): Promise<GrpcVsHttp> {
  const grpcPort = await freePort();
  const base = embeddedGatewayOptions('gateway-grpc');
  return withChildServer({ ...base, env: { ...base.env, GRPC_PORT: String(grpcPort) } }, async (server) => {
    const requests = binaryRequests(settings.bodyCount);
    const schedule = () => new RequestSchedule([{ kind: 'mlp', weight: 1, requests }], {});
    const grpcAddress = `127.0.0.1:${grpcPort}`;
    const run = async (protocol: ProtocolRun['protocol'], durationS: number): Promise<ProtocolRun> => {
      const recorder = new RunRecorder();
      recorder.startPhase(0);
      const load = { target: server.url, connections, rate: undefined, durationS, timeoutS: 30 };
      const { activeS } =
        protocol === 'http-binary'
          ? await drivePhase(load, schedule(), recorder)
          : await driveGrpcPhase({ ...load, grpcAddress, streaming: protocol === 'grpc-stream' }, schedule(), recorder);
      const totals = recorder.total.summary();
      const answered = totals.outcomes.ok;
      const { p50Ms, p99Ms } = totals.latency;
      return { protocol, requestsPerSecond: round(answered / activeS, 1), p50Ms, p99Ms, answered, failed: totals.sent - answered };
    };
    const runs: ProtocolRun[] = [];
    for (const protocol of ['http-binary', 'grpc-unary', 'grpc-stream'] as const) {
      await run(protocol, warmup);
      const measured = await run(protocol, seconds);
      log(`  ${protocol} @${connections}: ${measured.requestsPerSecond} req/s, p50 ${measured.p50Ms} ms, p99 ${measured.p99Ms} ms, ${measured.failed} failed`);
      runs.push(measured);
    }
    const [http, unary, stream] = runs as [ProtocolRun, ProtocolRun, ProtocolRun];
    const ratio = (run: ProtocolRun): number => round(run.requestsPerSecond / http.requestsPerSecond, 3);
    return { connections, seconds, runs, unaryRatio: ratio(unary), streamRatio: ratio(stream) };
  });
}
